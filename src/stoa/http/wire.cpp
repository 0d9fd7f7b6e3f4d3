#include "stoa/http/wire.hpp"

#include <fmt/format.h>

#include <charconv>

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

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 206:
      return "Partial Content";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 508:
      return "Loop Detected";
    default:
      return "Unknown";
  }
}

namespace {

void append_header(std::string& h, std::string_view name, std::string_view value) {
  h.append(name);
  h.append(": ");
  h.append(value);
  h.append("\r\n");
}

void append_number(std::string& h, std::uint64_t n) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, n);
  h.append(buf, res.ptr);
}

}  // namespace

// Plain appends, no format-string parsing: this runs once per response on the hot path.
std::string serialize_head(const proxy::Response& r, std::string_view date, bool keep_alive,
                           std::string_view request_id) {
  std::string h;
  h.reserve(384);
  h.append("HTTP/1.1 ");
  append_number(h, static_cast<std::uint64_t>(r.status));
  h.push_back(' ');
  h.append(reason_phrase(r.status));
  h.append("\r\n");
  append_header(h, "Date", date);
  h.append("Server: stoa\r\n");
  if (!r.content_type.empty()) append_header(h, "Content-Type", r.content_type);
  if (r.status != 304) {
    h.append("Content-Length: ");
    append_number(h, r.content_length());
    h.append("\r\n");
  }
  if (!r.cache_control.empty()) append_header(h, "Cache-Control", r.cache_control);
  if (!r.etag.empty()) append_header(h, "ETag", r.etag);
  for (const auto& [name, value] : r.headers) append_header(h, name, value);
  if (r.head_lines) h.append(*r.head_lines);
  if (!request_id.empty()) append_header(h, "X-Request-Id", request_id);
  if (!keep_alive) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
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
