#pragma once
// From a request header as Beast parsed it to the request proxy::Handler reads: the method,
// target and the headers it uses, the client's trace context, and the refusals made before any
// dispatch (a header too large or malformed, a body, an untrusted Host, a path outside the
// prefix). Pure apart from starting the server span; no Asio.

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/http/exchange.hpp"

namespace stoa::trace {
class Tracer;
}

namespace stoa::http {

// A request header: stoa reads no request bodies.
using RequestHeader = boost::beast::http::request<boost::beast::http::empty_body>;

// Whether reading a header ended with the client gone (closed, reset, the TLS stream cut, or
// the read aborted) before it sent a request: nothing to answer.
bool connection_gone(const boost::beast::error_code& read_error);

// Why a request's framing is refused (RFC 9112), or nullopt. stoa reads no request bodies, so
// any Transfer-Encoding or a non-zero Content-Length is refused; an HTTP/1.1 request must carry
// exactly one Host header, an HTTP/1.0 one at most one.
std::optional<std::string> check_framing(const RequestHeader& msg);

// Strips `prefix` ("" for none; no trailing '/') from `target`; false when the target is
// outside it. /healthz and /readyz are never outside.
bool strip_prefix(std::string_view prefix, std::string& target);

// Turns a read header into `x.request` (whose id and remote address the caller has set), starts
// the server span `x.span` as a child of the client's traceparent (when it sent exactly one),
// and sets `x.keep_alive` as the client asked. `read_error` is how reading the header ended
// (never a connection_gone() one); `msg` is read only when it is success.
// Returns false when the request is answered without dispatch, with the answer in
// `x.response`: 431 (header too large), 400 (malformed; or a body or an untrusted Host, and then
// the connection closes, so no body byte is ever parsed as a request), 404 (outside `prefix`).
bool translate(const boost::beast::error_code& read_error, const RequestHeader& msg,
               std::string_view prefix, const trace::Tracer& tracer, Exchange& x);

}  // namespace stoa::http
