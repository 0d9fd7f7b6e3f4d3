#include "stoa/cli/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <boost/json.hpp>
#include <string>

#include "stoa/trace/log_context.hpp"

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
  EXPECT_NE(line.find(R"("level":"warning","msg":"a\"b\\c\nd\u0001"})"), std::string::npos) << line;
}

TEST(Logging, JsonRecordIsValidJsonWhateverTheBytes) {
  // A module path or an upstream's text may carry invalid UTF-8; a log shipper drops (or a
  // strict parser rejects) a line that is not valid JSON.
  const std::string line = format_one("json", "caf\xc3\xa9 \xff\xc0\xaf \x7f");
  boost::system::error_code ec;
  const auto v = boost::json::parse(line, ec);
  ASSERT_FALSE(ec) << line;
  EXPECT_EQ(v.at("msg").as_string(), "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \x7f");
}

TEST(Logging, JsonRecordCarriesTheRequestAsFields) {
  const trace::LogContext ctx{"42", "4bf92f3577b34da6a3ce929d0e0e4736"};
  const trace::ScopedLogContext scope(ctx);
  const std::string line = format_one("json", "upstream fetch x failed");
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("msg").as_string(), "upstream fetch x failed");
  EXPECT_EQ(v.at("request_id").as_string(), "42");
  EXPECT_EQ(v.at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Logging, JsonRecordWithoutARequestHasNoRequestFields) {
  const auto v = boost::json::parse(format_one("json", "stoa serving")).as_object();
  EXPECT_FALSE(v.contains("request_id"));
  EXPECT_FALSE(v.contains("trace_id"));
}

TEST(Logging, TextRecordEndsWithTheRequest) {
  const trace::LogContext ctx{"42", "4bf92f3577b34da6a3ce929d0e0e4736"};
  {
    const trace::ScopedLogContext scope(ctx);
    EXPECT_TRUE(format_one("text", "lock x acquired")
                    .ends_with(" lock x acquired [request_id=42 "
                               "trace_id=4bf92f3577b34da6a3ce929d0e0e4736]\n"));
  }
  EXPECT_TRUE(format_one("text", "lock x acquired").ends_with(" lock x acquired\n"));
}

}  // namespace
}  // namespace stoa::cli
