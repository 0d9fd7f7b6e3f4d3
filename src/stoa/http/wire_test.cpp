#include "stoa/http/wire.hpp"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

TEST(SerializeHead, StringBody) {
  proxy::Response r = proxy::error_response(404, "not found: x", proxy::Outcome::not_found);
  const std::string h = serialize_head(r, "Thu, 01 Jan 1970 00:00:00 GMT", true, "7");
  EXPECT_EQ(h,
            "HTTP/1.1 404 Not Found\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: stoa\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n"
            "Cache-Control: no-store\r\nX-Request-Id: 7\r\n\r\n");
}

TEST(SerializeHead, RangeOfObjectAndClose) {
  proxy::Response r;
  r.status = 206;
  r.content_type = "application/zip";
  r.etag = "\"e\"";
  r.object = store::Object{};
  r.offset = 10;
  r.length = 5;
  r.headers.emplace_back("Content-Range", "bytes 10-14/100");
  const std::string h = serialize_head(r, "D", false, "");
  EXPECT_NE(h.find("HTTP/1.1 206 Partial Content\r\n"), std::string::npos);
  EXPECT_NE(h.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_NE(h.find("Content-Range: bytes 10-14/100\r\n"), std::string::npos);
  EXPECT_NE(h.find("ETag: \"e\"\r\n"), std::string::npos);
  EXPECT_NE(h.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(h.find("X-Request-Id"), std::string::npos);
}

TEST(SerializeHead, NotModifiedHasNoLength) {
  proxy::Response r;
  r.status = 304;
  EXPECT_EQ(serialize_head(r, "D", true, "").find("Content-Length"), std::string::npos);
}

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

}  // namespace
}  // namespace stoa::http
