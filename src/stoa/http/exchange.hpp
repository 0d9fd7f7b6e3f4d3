#pragma once
// One request on a connection, from its header to its access-log line, and the connection's
// peer. Plain data: translate() fills the request, the handler the response, send() the byte
// count, observe() reads it all.

#include <chrono>
#include <cstdint>
#include <string>

#include "stoa/proxy/response.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::http {

// The other end of a connection.
struct Peer {
  // For the access log: the peer's IP address over TCP, "unix" on the unix socket (the reverse
  // proxy in front logs the real client), "?" when the address could not be read.
  std::string remote;
  std::string address;     // for requests: the IP address, "" on the unix socket or unknown
  std::uint16_t port = 0;  // 0 on the unix socket
};

struct Exchange {
  Exchange(std::string request_id, const Peer& peer,
           std::chrono::steady_clock::time_point started_at)
      : id(std::move(request_id)), started(started_at) {
    request.log.request_id = id;
    request.remote_address = peer.address;
    request.remote_port = peer.port;
  }

  std::string id;                                 // the request id (X-Request-Id, the access log)
  std::chrono::steady_clock::time_point started;  // when its header was complete
  proxy::HttpRequest request;                     // what the handler sees
  trace::Span span;                               // the server span; inert without a tracer
  bool keep_alive = false;                        // whether the connection stays open after
  proxy::Response response;
  std::uint64_t body_bytes = 0;  // body bytes sent
  std::string error;             // why sending failed, if it did (the connection then closes)
};

}  // namespace stoa::http
