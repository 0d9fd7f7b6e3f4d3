#pragma once
// The access log's line: one per request, logfmt or JSON. Pure, no Asio.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "stoa/http/server.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::http {

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

// The line's timestamp: UTC with milliseconds, "1970-01-01T00:00:01.500Z".
std::string format_log_timestamp(std::chrono::system_clock::time_point t);

}  // namespace stoa::http
