#pragma once
// The response head: status line, Date and the headers stoa sends. Pure, no Asio.

#include <ctime>
#include <string>
#include <string_view>

#include "stoa/proxy/response.hpp"

namespace stoa::http {

std::string_view reason_phrase(int status);

// Appends the HTTP date of `t` ("Thu, 01 Jan 1970 00:00:00 GMT") to `out`.
void append_http_date(std::string& out, std::time_t t);
// The Date header value for now, recomputed at most once a second per thread (no allocation
// after a thread's first call).
std::string_view current_http_date();

// "HTTP/1.1 <status> <reason>\r\n" + headers + "\r\n". Content-Length is always set except for
// 304; `keep_alive` false adds "Connection: close".
std::string serialize_head(const proxy::Response& r, std::string_view date, bool keep_alive,
                           std::string_view request_id);

}  // namespace stoa::http
