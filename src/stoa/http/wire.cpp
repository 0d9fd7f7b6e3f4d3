#include "stoa/http/wire.hpp"

#include <charconv>
#include <ctime>

namespace stoa::http {

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

void append_http_date(std::string& out, std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  out.append(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
}

std::string_view current_http_date() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    cached.clear();
    append_http_date(cached, now);
    cached_at = now;
  }
  return cached;
}

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

}  // namespace stoa::http
