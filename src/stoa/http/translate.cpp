#include "stoa/http/translate.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include "stoa/trace/tracer.hpp"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

std::string header_value(const RequestHeader& msg, bhttp::field f) {
  const auto it = msg.find(f);
  return it == msg.end() ? std::string() : std::string(it->value());
}

// The server span, a child of the client's trace context when it sent exactly one traceparent;
// the request carries its context, and a trace id for the logs in any case (the span's, else a
// made-up one), and the client's tracestate to pass on.
trace::Span start_trace(const RequestHeader& msg, const trace::Tracer& tracer,
                        proxy::HttpRequest& req) {
  std::optional<trace::SpanContext> parent;
  if (msg.count("traceparent") == 1)
    parent = trace::parse_traceparent(msg.find("traceparent")->value());
  trace::Span span =
      tracer.start_span("HTTP request", parent ? &*parent : nullptr, trace::Kind::server);
  req.trace = span.context();
  req.log.trace_id =
      req.trace.trace_id.valid() ? req.trace.trace_id.hex() : trace::random_trace_id().hex();
  if (msg.count("tracestate") == 1) {
    req.tracestate = std::string(trace::sanitize_tracestate(msg.find("tracestate")->value()));
  }
  return span;
}

}  // namespace

bool connection_gone(const boost::beast::error_code& read_error) {
  return read_error == bhttp::error::end_of_stream || read_error == asio::error::eof ||
         read_error == asio::error::connection_reset ||
         read_error == asio::error::operation_aborted ||
         read_error == asio::ssl::error::stream_truncated;
}

std::optional<std::string> check_framing(const RequestHeader& msg) {
  // Whatever its last coding: a request whose last coding is not chunked has no length a server
  // could trust.
  if (msg.count(bhttp::field::transfer_encoding) > 0) return "request body not allowed";
  if (msg.count(bhttp::field::content_length) > 0) {
    const auto v = msg.find(bhttp::field::content_length)->value();
    if (v.find_first_not_of('0') != std::string_view::npos) return "request body not allowed";
  }
  const std::size_t hosts = msg.count(bhttp::field::host);
  if (hosts > 1) return "more than one Host header";
  if (hosts == 0 && msg.version() >= 11) return "HTTP/1.1 request without a Host header";
  return std::nullopt;
}

bool strip_prefix(std::string_view prefix, std::string& target) {
  if (prefix.empty()) return true;
  if (target == "/healthz" || target == "/readyz") return true;
  if (target.size() > prefix.size() && target.starts_with(prefix) && target[prefix.size()] == '/') {
    target.erase(0, prefix.size());
    return true;
  }
  return false;
}

bool translate(const boost::beast::error_code& read_error, const RequestHeader& msg,
               std::string_view prefix, const trace::Tracer& tracer, Exchange& x) {
  if (read_error == bhttp::error::header_limit) {
    x.response = proxy::error_response(431, "request header too large", proxy::Outcome::rejected);
    return false;
  }
  if (read_error) {
    x.response =
        proxy::error_response(400, "bad request: malformed HTTP request", proxy::Outcome::rejected);
    return false;
  }
  proxy::HttpRequest& req = x.request;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.if_none_match = header_value(msg, bhttp::field::if_none_match);
  req.range = header_value(msg, bhttp::field::range);
  req.if_range = header_value(msg, bhttp::field::if_range);
  req.authorization = header_value(msg, bhttp::field::authorization);
  x.span = start_trace(msg, tracer, req);
  x.keep_alive = msg.keep_alive();
  if (auto framing = check_framing(msg)) {
    x.response = proxy::error_response(400, "bad request: " + *framing, proxy::Outcome::rejected);
    x.keep_alive = false;
    return false;
  }
  if (!strip_prefix(prefix, req.target)) {
    x.response = proxy::error_response(404, "not found: outside " + std::string(prefix),
                                       proxy::Outcome::not_found);
    return false;
  }
  return true;
}

}  // namespace stoa::http
