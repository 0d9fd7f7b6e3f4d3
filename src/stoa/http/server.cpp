#include "stoa/http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "stoa/http/drain.hpp"
#include "stoa/http/io.hpp"
#include "stoa/http/observe.hpp"
#include "stoa/http/session.hpp"
#include "stoa/http/watchdog.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

std::string without_trailing_slashes(std::string prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix;
}

std::chrono::milliseconds shortest_timeout(const ServerOptions& o) {
  return std::min({o.header_timeout, o.idle_timeout, o.write_stall_timeout});
}

// An io_context whose pending handlers can be destroyed early. After stop(), sessions are left
// suspended in the context (a read on an idle keep-alive connection, a request in progress);
// the io_context's destructor would destroy them last, after the watchdog, the observer and the
// drain count their frames refer to. Impl destroys them first instead.
class IoContext : public asio::io_context {
 public:
  // Destroys every handler still queued or waiting (coroutine frames included). Only once no
  // thread runs the context; the io objects stay usable until the context itself goes.
  void destroy_pending_handlers() { shutdown(); }
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  proxy::Handler service;
  std::shared_ptr<spdlog::logger> log;
  IoContext ioc;
  tcp::acceptor acceptor{ioc};
  // listen = "unix:PATH": the unix socket listener instead of `acceptor` (plain HTTP only).
  unix_stream::acceptor unix_acceptor{ioc};
  std::string unix_path;
  ino_t unix_inode = 0;  // of the socket file bound, so that only our own file is removed
  asio::steady_timer check_timer{ioc};
  // The TLS context: replaced whole by reload_tls(); each connection keeps the one it started
  // with.
  std::mutex tls_mutex;
  std::shared_ptr<asio::ssl::context> tls;
  const std::string prefix;  // path_prefix without a trailing '/'; "" for none
  std::vector<std::thread> threads;
  std::shared_ptr<std::atomic<std::uint64_t>> request_ids;  // the last id handed out
  std::atomic<bool> stopped{false};
  Drain drain{[this] { stop_now(); }};
  asio::steady_timer grace_timer{ioc};
  Watchdog watchdog;
  Observer observer;
  trace::Tracer no_tracer;
  const trace::Tracer* tracer;
  const Sessions sessions;

  Impl(ServerOptions o, proxy::Handler s, std::shared_ptr<spdlog::logger> l,
       std::shared_ptr<spdlog::logger> access, metrics::Registry& registry)
      : options(std::move(o)),
        service(std::move(s)),
        log(std::move(l)),
        prefix(without_trailing_slashes(options.path_prefix)),
        request_ids(options.request_ids ? options.request_ids
                                        : std::make_shared<std::atomic<std::uint64_t>>(0)),
        watchdog(ioc, watchdog_period(shortest_timeout(options))),
        observer(registry, std::move(access), options.log_format),
        tracer(options.tracer != nullptr ? options.tracer : &no_tracer),
        sessions{options, service, prefix, *tracer, *request_ids, watchdog, drain, observer} {}

  ~Impl() {
    ioc.destroy_pending_handlers();  // while the parts the sessions refer to still exist
    // The socket file goes with the listener (unless another process has replaced it since).
    struct stat st {};
    if (!unix_path.empty() && ::lstat(unix_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_ino == unix_inode) {
      ::unlink(unix_path.c_str());
    }
  }

  void close_listeners() {
    beast::error_code ec;
    acceptor.close(ec);
    unix_acceptor.close(ec);
  }

  void schedule_check() {
    if (!options.on_check || options.check_interval.count() <= 0) return;
    check_timer.expires_after(options.check_interval);
    check_timer.async_wait([this](const beast::error_code& ec) {
      if (ec) return;
      options.on_check();
      schedule_check();
    });
  }

  std::shared_ptr<asio::ssl::context> current_tls() {
    std::lock_guard lock(tls_mutex);
    return tls;
  }

  // A TLS context from the certificate and key files; throws std::runtime_error.
  std::shared_ptr<asio::ssl::context> make_tls() const {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    beast::error_code ec;
    ctx->use_certificate_chain_file(options.tls_cert, ec);
    if (ec) throw std::runtime_error("tls_cert " + options.tls_cert + ": " + ec.message());
    ctx->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("tls_key " + options.tls_key + ": " + ec.message());
    return ctx;
  }

  void reload_tls() {
    if (!current_tls()) return;
    try {
      auto next = make_tls();
      std::lock_guard lock(tls_mutex);
      tls = std::move(next);
      log->info("TLS certificate reloaded from {}", options.tls_cert);
    } catch (const std::exception& e) {
      log->error("TLS reload failed; keeping the previous certificate: {}", e.what());
    }
  }

  void stop_now() {
    asio::post(ioc, [this] {
      close_listeners();
      check_timer.cancel();
      grace_timer.cancel();
      watchdog.stop();
      ioc.stop();
    });
  }

  // Listens on the unix socket at `path` (see ServerOptions::listen); returns "unix:PATH".
  std::string bind_unix(const std::string& path) {
    if (tls) throw std::runtime_error("TLS is not served on a unix socket (listen = unix:...)");
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
      throw std::runtime_error("unix socket path empty or too long: " + path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        throw std::runtime_error("listen: " + path +
                                 " exists and is not a socket; not removing it");
      // A socket file: stale (left by a process that died) unless someone still accepts on it.
      unix_stream::socket probe(ioc);
      beast::error_code ec;
      probe.connect(unix_stream::endpoint(path), ec);
      if (!ec) throw std::runtime_error("listen: another process is serving on " + path);
      if (ec != asio::error::connection_refused)
        throw std::runtime_error("listen: cannot check " + path + ": " + ec.message());
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw std::system_error(errno, std::generic_category(), "remove stale socket " + path);
    }
    beast::error_code ec;
    unix_acceptor.open(unix_stream(), ec);
    if (!ec) unix_acceptor.bind(unix_stream::endpoint(path), ec);
    if (ec) throw std::runtime_error("cannot listen on unix:" + path + ": " + ec.message());
    unix_path = path;
    if (::lstat(path.c_str(), &st) == 0) unix_inode = st.st_ino;
    // Owner and group may connect (connecting needs write permission on the file); set before
    // listen(), so nobody connects while the mode is still the umask's.
    if (::chmod(path.c_str(), 0660) != 0)
      throw std::system_error(errno, std::generic_category(), "chmod " + path);
    unix_acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on unix:" + path + ": " + ec.message());
    return "unix:" + path;
  }

  void begin_drain() {
    if (!drain.begin()) return;
    if (options.on_drain) options.on_drain();
    asio::post(ioc, [this] {
      close_listeners();
      log->info("draining: {} request(s) in progress, grace {} ms", drain.active(),
                options.shutdown_grace.count());
      if (drain.active() == 0) return stop_now();
      grace_timer.expires_after(options.shutdown_grace);
      grace_timer.async_wait([this](const beast::error_code& e) {
        if (e) return;
        log->warn("grace period over: cutting off {} request(s)", drain.active());
        stop_now();
      });
    });
  }

  // Accepts on `listener` (TCP, or the unix socket) until it is closed.
  // accept(2) failing for want of descriptors or memory fails again at once: without a pause
  // the loop spins a core and floods the log. The pause doubles from 5 ms to 1 s while it
  // lasts; a failure is logged at most every 10 s, with the count the line stands for.
  template <typename Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& listener) {
    std::chrono::milliseconds pause{0};
    std::uint64_t unlogged = 0;
    auto next_log = std::chrono::steady_clock::time_point::min();
    for (;;) {
      // One thread: every handler already runs in order, a strand would only add dispatch cost.
      // Several: the strand keeps a connection's concurrent waits (write || timer) serialized.
      asio::any_io_executor ex =
          options.threads == 1 ? asio::any_io_executor(ioc.get_executor()) : asio::make_strand(ioc);
      auto [ec, sock] = co_await listener.async_accept(ex, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !listener.is_open()) co_return;
        ++unlogged;
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_log) {
          log->warn("accept: {} ({} failures since the last such line)", ec.message(), unlogged);
          unlogged = 0;
          next_log = now + std::chrono::seconds(10);
        }
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE ||
            ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
          pause =
              std::clamp(pause * 2, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
          asio::steady_timer timer(co_await asio::this_coro::executor, pause);
          beast::error_code wait_ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
        }
        continue;
      }
      pause = std::chrono::milliseconds(0);
      if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
        if (auto ctx = current_tls()) {
          co_spawn(ex, session(sessions, TlsStream(std::move(sock), *ctx), ctx), asio::detached);
          continue;
        }
      }
      co_spawn(ex, session(sessions, std::move(sock), nullptr), asio::detached);
    }
  }
};

Server::Server(ServerOptions options, proxy::Handler handler, std::shared_ptr<spdlog::logger> log,
               std::shared_ptr<spdlog::logger> access_log, metrics::Registry& registry)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(log),
                                    std::move(access_log), registry)) {}

Server::~Server() {
  // Joining a thread throws only when that is impossible (a server destroyed from one of its own
  // threads): said, not thrown out of a destructor.
  try {
    stop();
    wait();
  } catch (const std::exception& e) {
    m_impl->log->error("stopping the HTTP server: {}", e.what());
  }
}

std::string Server::bind() {
  auto& impl = *m_impl;
  if (!impl.options.tls_cert.empty() || !impl.options.tls_key.empty()) {
    if (impl.options.tls_cert.empty() || impl.options.tls_key.empty())
      throw std::runtime_error("TLS needs both tls_cert and tls_key");
    impl.tls = impl.make_tls();
  }
  const auto& listen = impl.options.listen;
  if (listen.starts_with("unix:")) return impl.bind_unix(listen.substr(5));
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("listen address must be host:port: " + listen);
  // getaddrinfo reads a numeric service modulo 2^16 (99999 would be port 34463).
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    throw std::runtime_error("listen address " + listen + ": the port must be 0 to 65535");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  tcp::resolver resolver(impl.ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, listen.substr(colon + 1), tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + listen + ": " + ec.message());
  const tcp::endpoint ep = results.begin()->endpoint();
  impl.acceptor.open(ep.protocol());
  impl.acceptor.set_option(asio::socket_base::reuse_address(true));
  impl.acceptor.bind(ep, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
  impl.acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = impl.acceptor.local_endpoint();
  const std::string addr = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                   : bound.address().to_string();
  return addr + ":" + std::to_string(bound.port());
}

void Server::start() {
  auto& impl = *m_impl;
  impl.schedule_check();
  impl.watchdog.start();
  if (impl.unix_acceptor.is_open()) {
    co_spawn(impl.ioc, impl.accept_loop(impl.unix_acceptor), asio::detached);
  } else {
    co_spawn(impl.ioc, impl.accept_loop(impl.acceptor), asio::detached);
  }
  std::size_t n = impl.options.threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < n; ++i) impl.threads.emplace_back([&impl] { impl.ioc.run(); });
}

void Server::wait() {
  for (auto& t : m_impl->threads) {
    if (t.joinable()) t.join();
  }
}

void Server::drain() { m_impl->begin_drain(); }

void Server::reload_tls() { m_impl->reload_tls(); }

void Server::stop() {
  if (m_impl->stopped.exchange(true)) return;
  m_impl->stop_now();
}

}  // namespace stoa::http
