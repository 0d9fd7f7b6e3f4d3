#include "stoa/cli/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <string>

namespace stoa::cli {
namespace {

std::string format_one(std::string_view format, std::string_view payload) {
  const spdlog::details::log_msg msg(spdlog::source_loc{}, "stoa", spdlog::level::warn, payload);
  spdlog::memory_buf_t out;
  make_formatter(format)->format(msg, out);
  return std::string(out.data(), out.size());
}

TEST(Logging, TextRecordIsOneLineWhateverTheMessageHolds) {
  const std::string line = format_one(
      "text", "refusing x: upstream said \"bad\"\n2026-01-01T00:00:00Z info stored y\x1b[31m\\");
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(
      line.find(" warning refusing x: upstream said \"bad\"\\x0a2026-01-01T00:00:00Z info stored "
                "y\\x1b[31m\\x5c\n"),
      std::string::npos)
      << line;
}

TEST(Logging, JsonRecordIsOneEscapedObject) {
  const std::string line = format_one("json", "a\"b\\c\nd\x01");
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find(R"("level":"warning","msg":"a\"b\\c\u000ad\u0001"})"), std::string::npos)
      << line;
}

}  // namespace
}  // namespace stoa::cli
