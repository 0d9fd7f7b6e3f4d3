#pragma once
// A connection's reads and writes, for the three streams a server serves: plain TCP, the unix
// socket (both as plain non-blocking sockets: recv, sendmsg and sendfile(2) straight from the
// coroutine, waiting through the reactor only when the socket is not ready) and TLS (through the
// TLS layer; stored files by pread and write). Every wait is bounded by the connection's Watch
// (watchdog.hpp), armed here with the timeout the step is given. Each function is defined for
// the three Stream types below only.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "stoa/http/watchdog.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::http {

using PlainStream = boost::asio::ip::tcp::socket;
using UnixStream = boost::asio::local::stream_protocol::socket;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// One read of at most `max` bytes appended to `buffer`; returns their number. Between requests
// the session calls it directly (with the idle timeout armed on `watch`) rather than through
// another coroutine, so that waiting for a request costs the coroutine frames it always did
// (Asio recycles two per thread). Sets `ec` on EOF or an error.
template <typename Stream>
boost::asio::awaitable<std::size_t> read_some(Stream& stream, boost::beast::flat_buffer& buffer,
                                              std::size_t max, boost::beast::error_code& ec);

// Reads into `buffer` until `parser` has a whole request header, which must arrive within
// `timeout` (so a dribbling client is cut off). `buffer`'s max_size bounds the header.
// Returns nullopt when the client went quiet mid-header (nothing to answer); else success,
// header_limit, a parse error, or an error meaning the connection is gone (EOF, reset: see
// connection_gone()).
template <typename Stream>
boost::asio::awaitable<std::optional<boost::beast::error_code>> read_header(
    Stream& stream, boost::beast::flat_buffer& buffer, RequestParser& parser, Watch& watch,
    std::chrono::milliseconds timeout);

// Sends `head` and then the body of `r`: its bytes, the range [offset, offset+length) of its
// stored object (a file by sendfile(2) on plain sockets, by pread and write over TLS), or none
// for HEAD and 304. Each write must make progress within `stall`. Returns the body bytes sent;
// throws std::exception on a write error, a stall, or a stored file shorter than its size.
// Not a coroutine itself: it returns the one send coroutine that fits, so a send costs the
// coroutine frames it always did (Asio recycles two per thread).
template <typename Stream>
boost::asio::awaitable<std::uint64_t> send(Stream& stream, Watch& watch, std::string_view head,
                                           const proxy::Response& r,
                                           std::chrono::milliseconds stall);

// The TLS handshake, within `timeout` (it counts as part of the request header: a client
// dribbling it is cut off as a dribbling header is). False when it failed or timed out.
boost::asio::awaitable<bool> handshake(TlsStream& stream, Watch& watch,
                                       std::chrono::milliseconds timeout);

// Over TLS, before the connection's sending side is shut down: a close_notify, bounded by one
// second (a peer that never reads it must not hold the connection).
boost::asio::awaitable<void> close_notify(TlsStream& stream, Watch& watch);

}  // namespace stoa::http
