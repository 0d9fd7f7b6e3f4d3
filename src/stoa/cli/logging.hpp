#pragma once
// Loggers for stoa: an application log and an access log, both on stderr, as text or JSON.

#include <memory>
#include <string_view>

namespace spdlog {
class logger;
class formatter;
}  // namespace spdlog

namespace stoa::cli {

struct Loggers {
  std::shared_ptr<spdlog::logger> app;
  std::shared_ptr<spdlog::logger> access;  // receives preformatted lines
};

// The application log's line format, "text" or "json". Either way one record is one line:
// control bytes in a message (which may quote upstream text) are escaped, never written raw.
// A record written under a trace::ScopedLogContext carries its request id and trace id: as the
// JSON fields "request_id" and "trace_id", or in text as a " [request_id=N trace_id=X]" suffix.
std::unique_ptr<spdlog::formatter> make_formatter(std::string_view format);

// `format` is "text" or "json"; `level` one of debug, info, warn, error.
Loggers make_loggers(std::string_view format, std::string_view level, bool access_log);

}  // namespace stoa::cli
