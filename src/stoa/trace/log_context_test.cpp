#include "stoa/trace/log_context.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace stoa::trace {
namespace {

TEST(LogContext, ScopesNestAndRestore) {
  EXPECT_EQ(current_log_context(), nullptr);
  const LogContext outer{"1", "4bf92f3577b34da6a3ce929d0e0e4736"};
  {
    ScopedLogContext a(outer);
    EXPECT_EQ(current_log_context(), &outer);
    const LogContext inner{"2", ""};
    {
      ScopedLogContext b(inner);
      EXPECT_EQ(current_log_context()->request_id, "2");
    }
    EXPECT_EQ(current_log_context(), &outer);
  }
  EXPECT_EQ(current_log_context(), nullptr);
}

TEST(LogContext, BelongsToOneThread) {
  const LogContext mine{"7", ""};
  ScopedLogContext scope(mine);
  const LogContext* seen = &mine;
  std::thread([&] { seen = current_log_context(); }).join();
  EXPECT_EQ(seen, nullptr);
  EXPECT_EQ(current_log_context(), &mine);
}

}  // namespace
}  // namespace stoa::trace
