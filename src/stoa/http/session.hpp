#pragma once
// One connection's coroutine, reading like Beast's own loop: read a request header, translate
// it, dispatch it to the handler, send the answer, observe it; until the client or a deadline
// ends the connection or the server drains.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "stoa/http/drain.hpp"
#include "stoa/http/io.hpp"
#include "stoa/http/observe.hpp"
#include "stoa/http/server.hpp"
#include "stoa/http/watchdog.hpp"

namespace stoa::http {

// What the connections of one server share. Owned by the server, which outlives its
// connections (it joins its threads before it goes).
struct Sessions {
  const ServerOptions& options;
  const proxy::Handler& handler;
  std::string_view prefix;  // path_prefix without a trailing '/'; "" for none
  const trace::Tracer& tracer;
  std::atomic<std::uint64_t>& request_ids;  // the last id handed out
  Watchdog& watchdog;
  Drain& drain;
  Observer& observer;
};

// Serves one connection until it ends. Stream is PlainStream, UnixStream (plain HTTP on the
// unix socket) or TlsStream; `tls` keeps the TLS context the connection started with alive
// (Server::reload_tls() may replace the server's).
template <typename Stream>
boost::asio::awaitable<void> session(const Sessions& s, Stream stream,
                                     std::shared_ptr<boost::asio::ssl::context> tls);

}  // namespace stoa::http
