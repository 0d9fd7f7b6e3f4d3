#include "stoa/http/access_log.hpp"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

TEST(FormatAccess, EscapesHostileTargets) {
  AccessRecord rec;
  rec.request_id = "1";
  rec.remote = "127.0.0.1";
  rec.method = "GET";
  rec.target = "/a\"b\\c\n\x01\xff\xc3\xa9";
  rec.status = 400;
  rec.outcome = proxy::Outcome::rejected;
  const std::string text = format_access(rec, LogFormat::text, "T");
  EXPECT_EQ(text,
            "T access request_id=1 remote=127.0.0.1 method=\"GET\" "
            "path=\"/a\\\"b\\\\c\\n\\u0001\\ufffd\\u00e9\" "
            "status=400 bytes=0 duration_us=0 outcome=rejected");
  const std::string json = format_access(rec, LogFormat::json, "T");
  EXPECT_EQ(json,
            R"({"time":"T","level":"info","msg":"access","request_id":"1","remote":"127.0.0.1",)"
            R"("method":"GET","path":"/a\"b\\c\n\u0001\ufffd\u00e9","status":400,"bytes":0,)"
            R"("duration_us":0,"outcome":"rejected"})");
}

TEST(FormatAccess, TruncatesLongTargets) {
  AccessRecord rec;
  const std::string target(5000, 'a');
  rec.target = target;
  const std::string line = format_access(rec, LogFormat::text, "T");
  EXPECT_LT(line.size(), 700u);
  EXPECT_NE(line.find("aaa...\""), std::string::npos);
}

TEST(FormatAccess, TraceIdAndErrorLast) {
  AccessRecord rec;
  rec.request_id = "9";
  rec.remote = "unix";
  rec.method = "HEAD";
  rec.target = "/m/@v/list";
  rec.status = 200;
  rec.bytes = 0;
  rec.duration = std::chrono::microseconds(1234);
  rec.outcome = proxy::Outcome::hit;
  rec.trace_id = "0af7651916cd43dd8448eb211c80319c";
  rec.error = "write stalled";
  EXPECT_EQ(format_access(rec, LogFormat::text, "T"),
            "T access request_id=9 remote=unix method=\"HEAD\" path=\"/m/@v/list\" status=200 "
            "bytes=0 duration_us=1234 outcome=hit trace_id=0af7651916cd43dd8448eb211c80319c "
            "error=\"write stalled\"");
  EXPECT_EQ(format_access(rec, LogFormat::json, "T"),
            R"({"time":"T","level":"info","msg":"access","request_id":"9","remote":"unix",)"
            R"("method":"HEAD","path":"/m/@v/list","status":200,"bytes":0,"duration_us":1234,)"
            R"("outcome":"hit","trace_id":"0af7651916cd43dd8448eb211c80319c",)"
            R"("error":"write stalled"})");
}

TEST(FormatLogTimestamp, UtcWithMilliseconds) {
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  EXPECT_EQ(format_log_timestamp(system_clock::time_point(milliseconds(1500))),
            "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(format_log_timestamp(system_clock::time_point(milliseconds(1'700'000'000'007))),
            "2023-11-14T22:13:20.007Z");
}

}  // namespace
}  // namespace stoa::http
