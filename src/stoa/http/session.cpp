#include "stoa/http/session.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <optional>
#include <type_traits>

#include "stoa/http/translate.hpp"
#include "stoa/http/wire.hpp"
#include "stoa/trace/log_context.hpp"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

// Non-blocking (io.hpp reads and writes the socket directly), no Nagle delay over TCP; and who
// is at the other end.
template <typename Socket>
Peer open(Socket& sock) {
  beast::error_code ignored;
  sock.native_non_blocking(true, ignored);
  Peer peer;
  if constexpr (std::is_same_v<Socket, UnixStream>) {
    peer.remote = "unix";
  } else {
    peer.remote = "?";
    sock.set_option(asio::ip::tcp::no_delay(true), ignored);
    if (auto ep = sock.remote_endpoint(ignored); !ignored) {
      peer.remote = ep.address().to_string();
      peer.address = peer.remote;
      peer.port = ep.port();
    }
  }
  return peer;
}

// The handler's answer when it has one at once (a hit, an error): no coroutine, no post.
bool dispatch_now(const Sessions& s, Exchange& x) {
  const trace::ScopedLogContext log_scope(x.request.log);
  auto now = s.handler.respond_now(x.request);
  if (!now) return false;
  x.response = std::move(*now);
  return true;
}

// Otherwise the handler answers later, on any thread (a fetch); the answer comes back to the
// connection's executor.
template <typename Token>
auto dispatch_later(const proxy::Handler& handler, proxy::HttpRequest req, Token&& token) {
  return asio::async_initiate<Token, void(proxy::Response)>(
      [&handler](auto on_answer, const proxy::HttpRequest& request) {
        auto ex = asio::get_associated_executor(on_answer);
        auto shared = std::make_shared<decltype(on_answer)>(std::move(on_answer));
        const trace::ScopedLogContext log_scope(request.log);
        handler.handle(request, [shared, ex](proxy::Response r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      token, std::move(req));
}

}  // namespace

template <typename Stream>
asio::awaitable<void> session(const Sessions& s, Stream stream,
                              std::shared_ptr<asio::ssl::context> tls) {
  auto& sock = beast::get_lowest_layer(stream);
  const Peer peer = open(sock);
  Watch watch(sock.native_handle());
  const Watchdog::Guard watched(s.watchdog, watch);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (!co_await handshake(stream, watch, s.options.header_timeout)) co_return;
  }
  (void)tls;
  // Room for the largest accepted header plus a read's worth of what follows it (pipelining).
  beast::flat_buffer buffer(s.options.max_header_bytes + 8192);
  const Observer::Connection counted(s.observer);
  for (bool first = true;; first = false) {
    if (!first && buffer.size() == 0) {
      // Keep-alive: the next request's first bytes must come within the idle timeout.
      beast::error_code ec;
      watch.arm(s.options.idle_timeout);
      co_await read_some(stream, buffer, 8192, ec);
      if (ec || watch.fired.load()) co_return;
    }
    RequestParser parser;
    parser.header_limit(static_cast<std::uint32_t>(s.options.max_header_bytes));
    const auto read = co_await read_header(stream, buffer, parser, watch, s.options.header_timeout);
    if (!read) co_return;  // went quiet mid-header: nothing to answer
    const auto started = std::chrono::steady_clock::now();
    Exchange x(std::to_string(s.request_ids.fetch_add(1, std::memory_order_relaxed) + 1), peer,
               started);
    if (s.drain.draining() && *read) co_return;
    const Drain::Request in_progress(s.drain);
    if (connection_gone(*read)) co_return;

    const bool dispatch = translate(*read, parser.get(), s.prefix, s.tracer, x);
    if (s.drain.draining()) x.keep_alive = false;
    if (dispatch && !dispatch_now(s, x))
      x.response = co_await dispatch_later(s.handler, x.request, asio::use_awaitable);

    const std::string head = serialize_head(x.response, current_http_date(), x.keep_alive, x.id);
    try {
      x.body_bytes = co_await send(stream, watch, head, x.response, s.options.write_stall_timeout);
    } catch (const std::exception& e) {
      x.error = e.what();
      x.keep_alive = false;
    }
    s.observer.observe(x, peer.remote);
    if (!x.keep_alive || s.drain.draining()) break;
  }
  if constexpr (std::is_same_v<Stream, TlsStream>) co_await close_notify(stream, watch);
  beast::error_code ignored;
  sock.shutdown(asio::socket_base::shutdown_send, ignored);
}

template asio::awaitable<void> session(const Sessions&, PlainStream,
                                       std::shared_ptr<asio::ssl::context>);
template asio::awaitable<void> session(const Sessions&, UnixStream,
                                       std::shared_ptr<asio::ssl::context>);
template asio::awaitable<void> session(const Sessions&, TlsStream,
                                       std::shared_ptr<asio::ssl::context>);

}  // namespace stoa::http
