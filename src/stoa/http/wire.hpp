#pragma once
// Response head serialization and access-log formatting: pure, no Asio, unit-tested.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "stoa/http/server.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::http {

std::string_view reason_phrase(int status);

// "HTTP/1.1 <status> <reason>\r\n" + headers + "\r\n". Content-Length is always set except for
// 304; `keep_alive` false adds "Connection: close".
std::string serialize_head(const proxy::Response& r, std::string_view date, bool keep_alive,
                           std::string_view request_id);

struct AccessRecord {
  std::string_view request_id;
  std::string_view remote;
  std::string_view method;
  std::string_view target;
  int status = 0;
  std::uint64_t bytes = 0;
  std::chrono::microseconds duration{0};
  proxy::Outcome outcome = proxy::Outcome::hit;
  std::string_view error;     // why the connection ended early, if it did
  std::string_view trace_id;  // 32 hex digits, or empty
};

// One line (no newline): logfmt for text, one JSON object for json. The target is truncated to
// 512 bytes and escaped; no header values (credentials) are ever logged.
std::string format_access(const AccessRecord& rec, LogFormat format, std::string_view timestamp);

}  // namespace stoa::http
