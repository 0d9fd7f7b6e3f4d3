#include "stoa/http/io.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <vector>

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// Socket: PlainStream or UnixStream, here and in the plain-socket functions below.

// Waits until the socket can take more bytes; the watch (armed with the write stall timeout
// at each progress) cuts a reader that stopped reading. Throws when it did.
template <typename Socket>
asio::awaitable<void> wait_writable(Socket& sock, Watch& watch) {
  beast::error_code ec;
  co_await sock.async_wait(asio::socket_base::wait_write,
                           asio::redirect_error(asio::use_awaitable, ec));
  if (watch.fired.load()) throw std::runtime_error("write stalled");
}

// Sends `a` then `b` with sendmsg(2) straight from the coroutine: a small answer almost always
// fits the socket buffer, so it costs one system call and no asynchronous operation; only a
// full buffer waits for writability (bounded by the write stall timeout). Returns b.size();
// throws on error. `flags` are added to MSG_NOSIGNAL (MSG_MORE when a sendfile follows).
template <typename Socket>
asio::awaitable<std::uint64_t> send_two(Socket& sock, Watch& watch, std::string_view a,
                                        std::string_view b, std::chrono::milliseconds stall,
                                        int flags = 0) {
  const int s = sock.native_handle();
  watch.arm(stall);
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
      watch.arm(stall);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      co_await wait_writable(sock, watch);
    } else if (errno != EINTR) {
      if (watch.fired.load()) throw std::runtime_error("write stalled");
      throw std::system_error(errno, std::generic_category(), "send");
    }
  }
  watch.disarm();
  co_return b.size();
}

// Sends `head` then `length` bytes of `fd` from `offset` with sendfile(2) (which works on a
// unix stream socket as on TCP). Returns bytes of the body sent; throws on error or stall.
template <typename Socket>
asio::awaitable<std::uint64_t> send_file(Socket& sock, Watch& watch, std::string_view head, int fd,
                                         std::uint64_t offset, std::uint64_t length,
                                         std::chrono::milliseconds stall) {
  co_await send_two(sock, watch, head, {}, stall, length > 0 ? MSG_MORE : 0);
  const int s = sock.native_handle();
  watch.arm(stall);
  auto off = static_cast<off_t>(offset);
  std::uint64_t left = length;
  while (left > 0) {
    const ssize_t n = ::sendfile(s, fd, &off, std::min<std::uint64_t>(left, 1u << 30));
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      watch.arm(stall);
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
asio::awaitable<std::uint64_t> send_two(TlsStream& stream, Watch& watch, std::string_view a,
                                        std::string_view b, std::chrono::milliseconds stall) {
  watch.arm(stall);
  std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()),
                                         asio::buffer(b.data(), b.size())};
  beast::error_code ec;
  co_await asio::async_write(stream, bufs, asio::redirect_error(asio::use_awaitable, ec));
  watch.disarm();
  if (watch.fired.load()) throw std::runtime_error("write stalled");
  if (ec) throw std::system_error(ec, "TLS write");
  co_return b.size();
}

// A stored file over TLS: read+write in 64 KiB pieces (no sendfile through TLS).
asio::awaitable<std::uint64_t> send_file(TlsStream& stream, Watch& watch, std::string_view head,
                                         int fd, std::uint64_t offset, std::uint64_t length,
                                         std::chrono::milliseconds stall) {
  co_await send_two(stream, watch, head, {}, stall);
  std::vector<char> buf(64 << 10);
  std::uint64_t left = length;
  auto off = static_cast<off_t>(offset);
  while (left > 0) {
    const ssize_t n = ::pread(fd, buf.data(), std::min<std::uint64_t>(left, buf.size()), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "pread");
    if (n == 0) throw std::runtime_error("stored file shorter than its size");
    co_await send_two(stream, watch, std::string_view(buf.data(), static_cast<std::size_t>(n)), {},
                      stall);
    off += n;
    left -= static_cast<std::uint64_t>(n);
  }
  co_return length;
}

}  // namespace

// A plain non-blocking recv (a pipelined or busy client's bytes are usually there already, and
// then no asynchronous operation is started); when nothing is there, wait for readability
// through the reactor (no second speculative read) and try again. Over TLS, through the TLS
// layer. One coroutine either way: nothing nested.
template <typename Stream>
asio::awaitable<std::size_t> read_some(Stream& stream, beast::flat_buffer& buffer, std::size_t max,
                                       beast::error_code& ec) {
  auto space = buffer.prepare(max);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    const std::size_t n =
        co_await stream.async_read_some(space, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) buffer.commit(n);
    co_return n;
  } else {
    for (;;) {
      const ssize_t n = ::recv(stream.native_handle(), space.data(), space.size(), 0);
      if (n > 0) {
        buffer.commit(static_cast<std::size_t>(n));
        co_return static_cast<std::size_t>(n);
      }
      if (n == 0) {
        ec = asio::error::eof;
        co_return 0;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        ec.assign(errno, asio::error::get_system_category());
        co_return 0;
      }
      co_await stream.async_wait(asio::socket_base::wait_read,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return 0;
    }
  }
}

template <typename Stream>
asio::awaitable<std::optional<beast::error_code>> read_header(Stream& stream,
                                                              beast::flat_buffer& buffer,
                                                              RequestParser& parser, Watch& watch,
                                                              std::chrono::milliseconds timeout) {
  beast::error_code ec;
  watch.arm(timeout);
  for (;;) {
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && parser.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more) break;
      ec = {};
    }
    const std::size_t room = buffer.max_size() - buffer.size();
    if (room == 0) {
      ec = bhttp::error::header_limit;
      break;
    }
    co_await read_some(stream, buffer, std::min<std::size_t>(room, 8192), ec);
    if (ec) break;
  }
  watch.disarm();
  if (watch.fired.load()) co_return std::nullopt;  // went quiet mid-header
  co_return ec;
}

template <typename Stream>
asio::awaitable<std::uint64_t> send(Stream& stream, Watch& watch, std::string_view head,
                                    const proxy::Response& r, std::chrono::milliseconds stall) {
  const bool send_body = !r.head && r.status != 304;
  if (r.object && send_body) {
    if (const auto* fd = std::get_if<fsio::UniqueFd>(&r.object->body))
      return send_file(stream, watch, head, fd->get(), r.offset, r.length, stall);
    const auto& bytes = std::get<std::shared_ptr<const std::string>>(r.object->body);
    return send_two(stream, watch, head, std::string_view(bytes->data() + r.offset, r.length),
                    stall);
  }
  return send_two(stream, watch, head, send_body ? std::string_view(r.body) : std::string_view(),
                  stall);
}

asio::awaitable<bool> handshake(TlsStream& stream, Watch& watch,
                                std::chrono::milliseconds timeout) {
  beast::error_code ec;
  watch.arm(timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  watch.disarm();
  co_return !ec && !watch.fired.load();
}

asio::awaitable<void> close_notify(TlsStream& stream, Watch& watch) {
  beast::error_code ec;
  watch.arm(std::chrono::seconds(1));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

template asio::awaitable<std::size_t> read_some(PlainStream&, beast::flat_buffer&, std::size_t,
                                                beast::error_code&);
template asio::awaitable<std::optional<beast::error_code>> read_header(PlainStream&,
                                                                       beast::flat_buffer&,
                                                                       RequestParser&, Watch&,
                                                                       std::chrono::milliseconds);
template asio::awaitable<std::size_t> read_some(UnixStream&, beast::flat_buffer&, std::size_t,
                                                beast::error_code&);
template asio::awaitable<std::optional<beast::error_code>> read_header(UnixStream&,
                                                                       beast::flat_buffer&,
                                                                       RequestParser&, Watch&,
                                                                       std::chrono::milliseconds);
template asio::awaitable<std::size_t> read_some(TlsStream&, beast::flat_buffer&, std::size_t,
                                                beast::error_code&);
template asio::awaitable<std::optional<beast::error_code>> read_header(TlsStream&,
                                                                       beast::flat_buffer&,
                                                                       RequestParser&, Watch&,
                                                                       std::chrono::milliseconds);
template asio::awaitable<std::uint64_t> send(PlainStream&, Watch&, std::string_view,
                                             const proxy::Response&, std::chrono::milliseconds);
template asio::awaitable<std::uint64_t> send(UnixStream&, Watch&, std::string_view,
                                             const proxy::Response&, std::chrono::milliseconds);
template asio::awaitable<std::uint64_t> send(TlsStream&, Watch&, std::string_view,
                                             const proxy::Response&, std::chrono::milliseconds);

}  // namespace stoa::http
