#include "stoa/http/access_log.hpp"

#include <fmt/format.h>

#include <ctime>

#include "stoa/text/json.hpp"

namespace stoa::http {
namespace {

// The first `max` bytes of `s` for a double-quoted logfmt or JSON string, as printable ASCII
// (text::Json::ascii), so a hostile target can neither forge log lines nor hide in bidi tricks.
void append_escaped(std::string& out, std::string_view s, std::size_t max) {
  text::append_json_escaped(out, s.substr(0, max), text::Json::ascii);
  if (s.size() > max) out += "...";
}

}  // namespace

std::string format_log_timestamp(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", std::string_view(buf, n), ms.count());
}

std::string format_access(const AccessRecord& rec, LogFormat format, std::string_view timestamp) {
  std::string out;
  out.reserve(256);
  if (format == LogFormat::json) {
    fmt::format_to(
        std::back_inserter(out),
        R"({{"time":"{}","level":"info","msg":"access","request_id":"{}","remote":"{}","method":")",
        timestamp, rec.request_id, rec.remote);
    append_escaped(out, rec.method, 16);
    out += R"(","path":")";
    append_escaped(out, rec.target, 512);
    fmt::format_to(std::back_inserter(out),
                   R"(","status":{},"bytes":{},"duration_us":{},"outcome":"{}")", rec.status,
                   rec.bytes, rec.duration.count(), proxy::to_string(rec.outcome));
    if (!rec.trace_id.empty()) {
      out += R"(,"trace_id":")";
      append_escaped(out, rec.trace_id, 32);
      out += '"';
    }
    if (!rec.error.empty()) {
      out += R"(,"error":")";
      append_escaped(out, rec.error, 200);
      out += '"';
    }
    out += '}';
    return out;
  }
  fmt::format_to(std::back_inserter(out), "{} access request_id={} remote={} method=\"", timestamp,
                 rec.request_id, rec.remote);
  append_escaped(out, rec.method, 16);
  out += "\" path=\"";
  append_escaped(out, rec.target, 512);
  fmt::format_to(std::back_inserter(out), "\" status={} bytes={} duration_us={} outcome={}",
                 rec.status, rec.bytes, rec.duration.count(), proxy::to_string(rec.outcome));
  if (!rec.trace_id.empty()) {
    out += " trace_id=";
    append_escaped(out, rec.trace_id, 32);
  }
  if (!rec.error.empty()) {
    out += " error=\"";
    append_escaped(out, rec.error, 200);
    out += '"';
  }
  return out;
}

}  // namespace stoa::http
