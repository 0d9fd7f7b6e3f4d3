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

TEST(HttpDate, Rfc9110Format) {
  std::string out = "x";
  append_http_date(out, 0);
  EXPECT_EQ(out, "xThu, 01 Jan 1970 00:00:00 GMT");
  out.clear();
  append_http_date(out, 1'700'000'000);
  EXPECT_EQ(out, "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_EQ(current_http_date().size(), 29u);
}

}  // namespace
}  // namespace stoa::http
