#include "stoa/http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "stoa/http/request_metrics.hpp"
#include "stoa/http/wire.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/trace/log_context.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;
using TlsStream = asio::ssl::stream<tcp::socket>;
using namespace asio::experimental::awaitable_operators;

// Bridges Handler::handle (callback on any thread) to a coroutine on its own executor.
template <typename Token>
auto async_handle(const proxy::Handler& service, proxy::HttpRequest req, Token&& token) {
  return asio::async_initiate<Token, void(proxy::Response)>(
      [&service](auto handler, proxy::HttpRequest request) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        const trace::ScopedLogContext log_scope(request.log);
        service.handle(request, [shared, ex](proxy::Response r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        });
      },
      token, std::move(req));
}

// The Date header value, recomputed at most once a second per thread.
std::string_view current_date() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    cached.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
    cached_at = now;
  }
  return cached;
}

std::string log_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", std::string_view(buf, n), ms.count());
}

std::string header_value(const bhttp::request_parser<bhttp::empty_body>::value_type& req,
                         bhttp::field f) {
  const auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

// Why a request's framing is refused (RFC 9112), or nullopt. stoa reads no request bodies, so
// any Transfer-Encoding (whatever its last coding: a request whose last coding is not chunked has
// no length a server could trust) or a non-zero Content-Length is refused; an HTTP/1.1 request
// must carry exactly one Host header, an HTTP/1.0 one at most one.
std::optional<std::string> check_framing(
    const bhttp::request_parser<bhttp::empty_body>::value_type& msg) {
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

// A connection's deadline, checked by the server's watchdog tick instead of a timer per
// operation: arming it is one atomic store, so reading a request and writing its answer cost no
// timer-queue work. When it passes, the watchdog shuts the socket down (safe from any thread: the
// kernel wakes whatever operation is pending with EOF or EPIPE) and sets `fired`.
struct Watch {
  explicit Watch(int socket_fd) : fd(socket_fd) {}
  const int fd;
  std::atomic<std::int64_t> deadline_ns{0};  // steady clock; 0: none
  std::atomic<bool> fired{false};

  void arm(std::chrono::milliseconds timeout) {
    const auto at = std::chrono::steady_clock::now() + timeout;
    deadline_ns.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
        std::memory_order_relaxed);
  }
  void disarm() { deadline_ns.store(0, std::memory_order_relaxed); }
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  proxy::Handler service;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<spdlog::logger> access;
  asio::io_context ioc;
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
  std::string prefix;  // path_prefix without a trailing '/'; "" for none
  std::vector<std::thread> threads;
  std::shared_ptr<std::atomic<std::uint64_t>> request_ids;  // the last id handed out
  std::atomic<bool> stopped{false};
  std::atomic<bool> draining{false};
  std::atomic<int> active_requests{0};
  asio::steady_timer grace_timer{ioc};
  asio::steady_timer watchdog_timer{ioc};
  std::mutex watches_mutex;
  std::unordered_set<Watch*> watches;  // one per open connection
  RequestMetrics metrics;
  trace::Tracer no_tracer;
  const trace::Tracer* tracer;

  ~Impl() {
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

  Impl(ServerOptions o, proxy::Handler s, std::shared_ptr<spdlog::logger> l,
       std::shared_ptr<spdlog::logger> a, metrics::Registry& registry)
      : options(std::move(o)),
        service(std::move(s)),
        log(std::move(l)),
        access(std::move(a)),
        metrics(registry),
        tracer(options.tracer != nullptr ? options.tracer : &no_tracer) {
    request_ids =
        options.request_ids ? options.request_ids : std::make_shared<std::atomic<std::uint64_t>>(0);
    prefix = options.path_prefix;
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  }

  // Strips the path prefix from `target`; false when the target is outside it.
  bool strip_prefix(std::string& target) const {
    if (prefix.empty()) return true;
    if (target == "/healthz" || target == "/readyz") return true;
    if (target.size() > prefix.size() && target.starts_with(prefix) &&
        target[prefix.size()] == '/') {
      target.erase(0, prefix.size());
      return true;
    }
    return false;
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
      watchdog_timer.cancel();
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

  // Called when a request finishes: the last one out during a drain stops the server.
  void request_done() {
    if (active_requests.fetch_sub(1) == 1 && draining.load()) stop_now();
  }

  void begin_drain() {
    if (draining.exchange(true)) return;
    if (options.on_drain) options.on_drain();
    asio::post(ioc, [this] {
      close_listeners();
      log->info("draining: {} request(s) in progress, grace {} ms", active_requests.load(),
                options.shutdown_grace.count());
      if (active_requests.load() == 0) return stop_now();
      grace_timer.expires_after(options.shutdown_grace);
      grace_timer.async_wait([this](const beast::error_code& e) {
        if (e) return;
        log->warn("grace period over: cutting off {} request(s)", active_requests.load());
        stop_now();
      });
    });
  }

  // How often deadlines are checked: a tenth of the shortest timeout, between 10 ms and 250 ms,
  // so a timeout fires at most that much late.
  std::chrono::milliseconds watchdog_period() const {
    const auto shortest =
        std::min({options.header_timeout, options.idle_timeout, options.write_stall_timeout});
    return std::clamp(shortest / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  }

  void watchdog_tick() {
    watchdog_timer.expires_after(watchdog_period());
    watchdog_timer.async_wait([this](const beast::error_code& ec) {
      if (ec) return;
      const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count();
      {
        std::lock_guard lock(watches_mutex);
        for (Watch* w : watches) {
          const std::int64_t d = w->deadline_ns.load(std::memory_order_relaxed);
          if (d != 0 && d <= now && !w->fired.exchange(true)) ::shutdown(w->fd, SHUT_RDWR);
        }
      }
      watchdog_tick();
    });
  }

  // Registers a connection with the watchdog for its lifetime.
  struct WatchGuard {
    Impl& impl;
    Watch& watch;
    WatchGuard(Impl& i, Watch& w) : impl(i), watch(w) {
      std::lock_guard lock(impl.watches_mutex);
      impl.watches.insert(&watch);
    }
    ~WatchGuard() {
      std::lock_guard lock(impl.watches_mutex);
      impl.watches.erase(&watch);
    }
    WatchGuard(const WatchGuard&) = delete;
    WatchGuard& operator=(const WatchGuard&) = delete;
  };

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
          co_spawn(ex, session(TlsStream(std::move(sock), *ctx), ctx), asio::detached);
          continue;
        }
      }
      co_spawn(ex, session(std::move(sock), nullptr), asio::detached);
    }
  }

  // Waits until the socket can take more bytes; the watch (armed with the write stall timeout
  // at each progress) cuts a reader that stopped reading. Throws when it did.
  // Socket: tcp::socket or unix_stream::socket, here and in the plain-socket functions below.
  template <typename Socket>
  static asio::awaitable<void> wait_writable(Socket& sock, Watch& watch) {
    beast::error_code ec;
    co_await sock.async_wait(asio::socket_base::wait_write,
                             asio::redirect_error(asio::use_awaitable, ec));
    if (watch.fired.load()) throw std::runtime_error("write stalled");
  }

  // Sends `a` then `b` with sendmsg(2) straight from the coroutine: a small answer almost always
  // fits the socket buffer, so it costs one system call and no asynchronous operation; only a
  // full buffer waits for writability (bounded by the write stall timeout). Throws on error.
  // `flags` are added to MSG_NOSIGNAL (MSG_MORE when a sendfile follows).
  template <typename Socket>
  asio::awaitable<void> send_two(Socket& sock, Watch& watch, std::string_view a, std::string_view b,
                                 int flags = 0) {
    const int s = sock.native_handle();
    watch.arm(options.write_stall_timeout);
    std::size_t done = 0;
    const std::size_t total = a.size() + b.size();
    while (done < total) {
      iovec iov[2];
      int count = 0;
      if (done < a.size()) {
        iov[count++] = {const_cast<char*>(a.data() + done), a.size() - done};
        if (!b.empty()) iov[count++] = {const_cast<char*>(b.data()), b.size()};
      } else {
        const std::size_t off = done - a.size();
        iov[count++] = {const_cast<char*>(b.data() + off), b.size() - off};
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(count);
      const ssize_t n = ::sendmsg(s, &msg, MSG_NOSIGNAL | flags);
      if (n >= 0) {
        done += static_cast<std::size_t>(n);
        watch.arm(options.write_stall_timeout);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        co_await wait_writable(sock, watch);
      } else if (errno != EINTR) {
        if (watch.fired.load()) throw std::runtime_error("write stalled");
        throw std::system_error(errno, std::generic_category(), "send");
      }
    }
    watch.disarm();
  }

  // Sends `head` then `length` bytes of `fd` from `offset` with sendfile(2). Returns bytes of the
  // body sent; throws on error or stall.
  // sendfile(2) works on a unix stream socket as on TCP.
  template <typename Socket>
  asio::awaitable<std::uint64_t> send_file(Socket& sock, Watch& watch, const std::string& head,
                                           int fd, std::uint64_t offset, std::uint64_t length) {
    co_await send_two(sock, watch, head, {}, length > 0 ? MSG_MORE : 0);
    const int s = sock.native_handle();
    watch.arm(options.write_stall_timeout);
    auto off = static_cast<off_t>(offset);
    std::uint64_t left = length;
    while (left > 0) {
      const ssize_t n = ::sendfile(s, fd, &off, std::min<std::uint64_t>(left, 1u << 30));
      if (n > 0) {
        left -= static_cast<std::uint64_t>(n);
        watch.arm(options.write_stall_timeout);
      } else if (n == 0) {
        throw std::runtime_error("stored file shorter than its size");
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        co_await wait_writable(sock, watch);
      } else if (errno != EINTR) {
        if (watch.fired.load()) throw std::runtime_error("write stalled");
        throw std::system_error(errno, std::generic_category(), "sendfile");
      }
    }
    watch.disarm();
    co_return length;
  }

  // Over TLS bytes go through the TLS layer; the watch bounds each write's progress the same way.
  asio::awaitable<void> send_two(TlsStream& stream, Watch& watch, std::string_view a,
                                 std::string_view b) {
    watch.arm(options.write_stall_timeout);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()),
                                           asio::buffer(b.data(), b.size())};
    beast::error_code ec;
    co_await asio::async_write(stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
    watch.disarm();
    if (watch.fired.load()) throw std::runtime_error("write stalled");
    if (ec) throw std::system_error(ec, "TLS write");
  }

  // A stored file over TLS: read+write in 64 KiB pieces (no sendfile through TLS).
  asio::awaitable<std::uint64_t> send_file(TlsStream& stream, Watch& watch, const std::string& head,
                                           int fd, std::uint64_t offset, std::uint64_t length) {
    co_await send_two(stream, watch, head, {});
    std::vector<char> buf(64 << 10);
    std::uint64_t left = length;
    auto off = static_cast<off_t>(offset);
    while (left > 0) {
      const ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(left, buf.size()), off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::system_error(errno, std::generic_category(), "pread");
      if (n == 0) throw std::runtime_error("stored file shorter than its size");
      co_await send_two(stream, watch, std::string_view(buf.data(), static_cast<std::size_t>(n)),
                        {});
      off += n;
      left -= static_cast<std::uint64_t>(n);
    }
    co_return length;
  }

  static asio::awaitable<std::size_t> read_some(TlsStream& stream, beast::flat_buffer& buffer,
                                                std::size_t max, beast::error_code& ec) {
    co_return co_await stream.async_read_some(buffer.prepare(max),
                                              asio::redirect_error(asio::use_awaitable, ec));
  }

  // Reads into `buffer` until `parser` has a whole request header. The caller arms the watch.
  // Returns success, header_limit, a parse error, or an error meaning the connection is gone
  // (EOF, reset, or the watch fired).
  template <typename Stream>
  static asio::awaitable<beast::error_code> read_header(
      Stream& sock, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::empty_body>& parser) {
    beast::error_code ec;
    for (;;) {
      if (buffer.size() > 0) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (!ec && parser.is_header_done()) co_return ec;
        if (ec && ec != bhttp::error::need_more) co_return ec;
        ec = {};
      }
      const std::size_t room = buffer.max_size() - buffer.size();
      if (room == 0) co_return bhttp::error::header_limit;
      const std::size_t n = co_await read_some(sock, buffer, std::min<std::size_t>(room, 8192), ec);
      if (ec) co_return ec;
      buffer.commit(n);
    }
  }

  // One read of at most `max` bytes into buffer.prepare(): a plain non-blocking recv (a pipelined
  // or busy client's bytes are usually there already, and then no asynchronous operation is
  // started); when nothing is there, wait for readability through the reactor and try again.
  template <typename Socket>
  static asio::awaitable<std::size_t> read_some(Socket& sock, beast::flat_buffer& buffer,
                                                std::size_t max, beast::error_code& ec) {
    auto space = buffer.prepare(max);
    for (;;) {
      const ssize_t n = ::recv(sock.native_handle(), space.data(), space.size(), 0);
      if (n > 0) co_return static_cast<std::size_t>(n);
      if (n == 0) {
        ec = asio::error::eof;
        co_return 0;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec.assign(errno, asio::error::get_system_category());
        co_return 0;
      }
      // Nothing yet: wait for readability (no second speculative read), then recv again.
      co_await sock.async_wait(asio::socket_base::wait_read,
                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return 0;
    }
  }

  // One connection; Stream is tcp::socket (plain HTTP), unix_stream::socket (plain HTTP on the
  // unix socket) or TlsStream. `ctx` keeps the TLS context the connection started with alive
  // (reload_tls() may replace the server's).
  template <typename Stream>
  asio::awaitable<void> session(Stream stream, std::shared_ptr<asio::ssl::context> ctx) {
    constexpr bool k_plain = !std::is_same_v<Stream, TlsStream>;
    constexpr bool k_unix = std::is_same_v<Stream, unix_stream::socket>;
    auto& sock = [&]() -> auto& {
      if constexpr (k_plain) {
        return stream;
      } else {
        return stream.next_layer();
      }
    }
    ();
    beast::error_code ignored;
    sock.native_non_blocking(true, ignored);
    // The access log's client: the peer address over TCP; a unix socket's peer has no address
    // (the reverse proxy in front logs the real client), and requests from it carry an empty
    // remote_address.
    std::string remote = k_unix ? "unix" : "?";
    std::string remote_address;
    std::uint16_t remote_port = 0;
    if constexpr (!k_unix) {
      sock.set_option(tcp::no_delay(true), ignored);
      if (auto ep = sock.remote_endpoint(ignored); !ignored) {
        remote = ep.address().to_string();
        remote_address = remote;
        remote_port = ep.port();
      }
    }
    Watch watch(sock.native_handle());
    WatchGuard watch_guard(*this, watch);
    if constexpr (!k_plain) {
      // The handshake counts as part of the request header: a client dribbling it is cut off
      // as a dribbling header is.
      beast::error_code ec;
      watch.arm(options.header_timeout);
      co_await stream.async_handshake(asio::ssl::stream_base::server,
                                      asio::redirect_error(asio::use_awaitable, ec));
      watch.disarm();
      if (ec || watch.fired.load()) co_return;
    }
    (void)ctx;
    // Room for the largest accepted header plus a read's worth of what follows it (pipelining).
    beast::flat_buffer buffer(options.max_header_bytes + 8192);
    bool first = true;
    metrics.connections().add(1);
    metrics.accepted().inc();
    struct ConnectionCount {
      metrics::Gauge& g;
      ~ConnectionCount() { g.add(-1); }
    } connection_count{metrics.connections()};

    for (;;) {
      bhttp::request_parser<bhttp::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      beast::error_code ec;

      // Between requests, wait for the first byte with the idle timeout; then the whole header
      // must arrive within the header timeout (so a dribbling client is cut off).
      if (!first && buffer.size() == 0) {
        watch.arm(options.idle_timeout);
        auto n = co_await read_some(stream, buffer, 8192, ec);
        if (ec || watch.fired.load()) co_return;
        buffer.commit(n);
      }
      first = false;
      watch.arm(options.header_timeout);
      ec = co_await read_header(stream, buffer, parser);
      watch.disarm();
      if (watch.fired.load()) co_return;  // went quiet mid-header: nothing to answer
      const auto started = std::chrono::steady_clock::now();
      const std::string id =
          std::to_string(request_ids->fetch_add(1, std::memory_order_relaxed) + 1);
      if (draining.load() && ec) co_return;
      active_requests.fetch_add(1);
      struct ActiveRequest {
        Impl& impl;
        ~ActiveRequest() { impl.request_done(); }
      } active{*this};

      proxy::Response resp;
      proxy::HttpRequest req;
      req.log.request_id = id;
      req.remote_address = remote_address;
      req.remote_port = remote_port;
      trace::Span span;
      bool keep_alive = false;
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
          ec == asio::ssl::error::stream_truncated) {
        co_return;  // closed or went quiet before sending a request: nothing to answer
      } else if (ec == bhttp::error::header_limit) {
        resp = proxy::error_response(431, "request header too large", proxy::Outcome::rejected);
      } else if (ec) {
        resp = proxy::error_response(400, "bad request: malformed HTTP request",
                                     proxy::Outcome::rejected);
      } else {
        const auto& msg = parser.get();
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        req.if_none_match = header_value(msg, bhttp::field::if_none_match);
        req.range = header_value(msg, bhttp::field::range);
        req.if_range = header_value(msg, bhttp::field::if_range);
        req.authorization = header_value(msg, bhttp::field::authorization);
        // The client's trace context, when it sent exactly one traceparent.
        std::optional<trace::SpanContext> parent;
        if (msg.count("traceparent") == 1)
          parent = trace::parse_traceparent(msg.find("traceparent")->value());
        span = tracer->start_span("HTTP request", parent ? &*parent : nullptr, trace::Kind::server);
        req.trace = span.context();
        // Every request gets a trace id in the logs: its span's (the client's trace, or the
        // root span's when tracing is on), else a made-up one.
        req.log.trace_id =
            req.trace.trace_id.valid() ? req.trace.trace_id.hex() : trace::random_trace_id().hex();
        if (msg.count("tracestate") == 1) {
          req.tracestate = std::string(trace::sanitize_tracestate(msg.find("tracestate")->value()));
        }
        keep_alive = msg.keep_alive() && !draining.load();
        if (auto framing = check_framing(msg)) {
          // RFC 9112 6.3 and 3.2: a body stoa would not read, or a Host it cannot trust, gets
          // 400 and the connection closed, so no body byte is ever parsed as a request.
          resp = proxy::error_response(400, "bad request: " + *framing, proxy::Outcome::rejected);
          keep_alive = false;
        } else if (!strip_prefix(req.target)) {
          resp =
              proxy::error_response(404, "not found: outside " + prefix, proxy::Outcome::not_found);
        } else if (auto now = [&] {
                     const trace::ScopedLogContext log_scope(req.log);
                     return service.respond_now(req);
                   }()) {
          resp = std::move(*now);
        } else {
          resp = co_await async_handle(service, req, asio::use_awaitable);
        }
      }

      const std::string head = serialize_head(resp, current_date(), keep_alive, id);
      std::uint64_t body_bytes = 0;
      std::string error;
      try {
        const bool send_body = !resp.head && resp.status != 304;
        if (resp.object && send_body) {
          if (auto* fd = std::get_if<fsio::UniqueFd>(&resp.object->body)) {
            body_bytes =
                co_await send_file(stream, watch, head, fd->get(), resp.offset, resp.length);
          } else {
            const auto& bytes = std::get<std::shared_ptr<const std::string>>(resp.object->body);
            co_await send_two(stream, watch, head,
                              std::string_view(bytes->data() + resp.offset, resp.length));
            body_bytes = resp.length;
          }
        } else {
          co_await send_two(stream, watch, head,
                            send_body ? std::string_view(resp.body) : std::string_view());
          body_bytes = send_body ? resp.body.size() : 0;
        }
      } catch (const std::exception& e) {
        error = e.what();
        keep_alive = false;
      }

      const auto elapsed = std::chrono::steady_clock::now() - started;
      if (span.recording()) {
        span.update_name(std::string(req.method) + " " + std::string(resp.endpoint));
        span.set_attribute("http.request.method", req.method);
        span.set_attribute("url.path", req.target);
        span.set_attribute("http.response.status_code", static_cast<std::int64_t>(resp.status));
        span.set_attribute("stoa.outcome", proxy::to_string(resp.outcome));
        span.set_attribute("stoa.request_id", id);
        if (resp.status >= 500) span.set_status(trace::StatusCode::error, error);
      }
      span.end();
      // A request refused before it was parsed (400, 431) has no trace id yet.
      if (req.log.trace_id.empty()) req.log.trace_id = trace::random_trace_id().hex();
      metrics.record(resp.endpoint, resp.status, resp.outcome,
                     std::chrono::duration<double>(elapsed).count(), body_bytes);
      if (access) {
        AccessRecord rec;
        rec.request_id = id;
        rec.remote = remote;
        rec.method = req.method.empty() ? std::string_view("-") : std::string_view(req.method);
        rec.target = req.target.empty() ? std::string_view("-") : std::string_view(req.target);
        rec.status = resp.status;
        rec.bytes = body_bytes;
        rec.duration = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
        rec.outcome = resp.outcome;
        rec.error = error;
        rec.trace_id = req.log.trace_id;
        access->info(format_access(rec, options.log_format, log_timestamp()));
      }
      if (!keep_alive || draining.load()) break;
    }
    beast::error_code ec;
    if constexpr (!k_plain) {
      // close_notify, bounded: a peer that never reads it must not hold the connection.
      watch.arm(std::chrono::seconds(1));
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
    sock.shutdown(asio::socket_base::shutdown_send, ec);
  }
};

Server::Server(ServerOptions options, proxy::Handler service, std::shared_ptr<spdlog::logger> log,
               std::shared_ptr<spdlog::logger> access_log, metrics::Registry& registry)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(service), std::move(log),
                                    std::move(access_log), registry)) {}

Server::~Server() {
  stop();
  wait();
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
  impl.watchdog_tick();
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
