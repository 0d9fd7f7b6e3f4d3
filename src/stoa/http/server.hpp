#pragma once
// The HTTP/1.1 front end: acceptor, one coroutine per connection, limits and deadlines, the
// access log, and zero-copy (sendfile) for stored files. The only component that includes
// Boost.Asio/Beast; everything protocol-specific is in proxy::Service.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace stoa::proxy {
struct Handler;
}

namespace stoa::metrics {
class Registry;
}

namespace stoa::trace {
class Tracer;
}

namespace stoa::http {

enum class LogFormat { text, json };

struct ServerOptions {
  // "host:port" (port 0 picks a free one), or "unix:PATH": a unix stream socket for a reverse
  // proxy on the same host (plain HTTP only). A socket file left at PATH by a dead process is
  // replaced; anything else there, or a live listener, is an error. The file gets mode 0660 and
  // is removed when the server is destroyed. Requests on it have an empty remote_address.
  std::string listen = "127.0.0.1:8080";
  std::size_t threads = 0;                                // 0: one per core
  std::chrono::milliseconds header_timeout{10'000};       // whole request header, once it started
  std::chrono::milliseconds idle_timeout{60'000};         // keep-alive wait for the next request
  std::chrono::milliseconds write_stall_timeout{60'000};  // no write progress for this long
  std::size_t max_header_bytes = 16 << 10;
  LogFormat log_format = LogFormat::text;
  // Where request ids come from (X-Request-Id, the access log, log lines about the request):
  // give every listener of a process the same counter so that an id names one request. nullptr:
  // a counter of this server's own.
  std::shared_ptr<std::atomic<std::uint64_t>> request_ids;
  // On drain() (stoa's SIGTERM/SIGINT, cli/signals.hpp): `on_drain` runs (readiness turns false),
  // the listener closes, requests in progress (including those waiting for a fetch) finish, then
  // the threads end; after `shutdown_grace` whatever is left is cut off.
  std::chrono::milliseconds shutdown_grace{30'000};
  std::function<void()> on_drain;
  // A server span per request, child of the client's traceparent (nullptr: no tracing; the
  // client's trace context is still passed on to upstream fetches).
  const trace::Tracer* tracer = nullptr;
  // TLS: PEM certificate chain and private key files; both empty: plain HTTP. bind() throws
  // std::runtime_error when they cannot be loaded; reload_tls() loads them again (a failure keeps
  // the previous ones and is logged). Stored files go out with sendfile(2) over
  // plain HTTP and with read+write over TLS.
  std::string tls_cert;
  std::string tls_key;
  // Serve under this prefix ("/goproxy": a module path is /goproxy/<module>/@v/...); requests
  // outside it get 404, except /healthz and /readyz. "" or "/": none.
  std::string path_prefix;
  // Called on the serving threads every `check_interval` (a timer, no thread of its own; zero:
  // never). Must not block for long.
  std::function<void()> on_check;
  std::chrono::milliseconds check_interval{0};
};

class Server {
 public:
  // `access_log` receives one preformatted line per request (its pattern should be "%v").
  // `handler` must outlive the server. `registry` receives the request metrics (pass a registry
  // that is not rendered anywhere to keep a listener out of the numbers).
  Server(ServerOptions options, proxy::Handler handler, std::shared_ptr<spdlog::logger> log,
         std::shared_ptr<spdlog::logger> access_log, metrics::Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound address "ip:port" or "unix:PATH". Throws
  // std::runtime_error.
  std::string bind();
  // Starts serving on the worker threads; returns at once. The server installs no signal
  // handlers: its owner calls drain(), stop() and reload_tls() (stoa's are in cli/signals.hpp).
  void start();
  // Blocks until the server has stopped (drain() finished, or stop()).
  void wait();
  // Graceful stop (see ServerOptions::shutdown_grace). Thread-safe; idempotent.
  void drain();
  // Stops at once: closes the listener and ends the threads. Thread-safe; idempotent.
  void stop();
  // Loads the TLS certificate and key files again; a failure keeps the previous ones and is
  // logged. Nothing over plain HTTP. Thread-safe; blocks while it reads the files.
  void reload_tls();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace stoa::http
