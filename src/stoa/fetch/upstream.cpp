#include "stoa/fetch/upstream.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "stoa/fetch/curl_handles.hpp"
#include "stoa/fetch/egress.hpp"
#include "stoa/fetch/wire.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::fetch {

namespace {

using namespace curl;  // handle types and helpers private to fetch/

// ---------------------------------------------------------------------------------------------
// Text helpers

using text::iequals;
using text::istarts_with;
using text::to_lower;
using text::trim_space;

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (!is_digits(s) || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// ---------------------------------------------------------------------------------------------
// GOPROXY entries

// Validates one http(s) URL and returns its normalized form (lowercase scheme, no trailing '/'),
// or sets `why` (a reason that never repeats the authority, which may hold credentials).
std::optional<std::string> normalize_proxy_url(std::string_view url, std::string& why) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    why = "not an http:// or https:// URL";
    return std::nullopt;
  }
  const std::string_view scheme = url.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    why = "the scheme must be http or https";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  for (const char c : rest) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '\\') {
      why = "the URL contains a blank, a control or a non-ASCII character";
      return std::nullopt;
    }
    if (c == '?' || c == '#') {
      why = "query strings and fragments are not supported";
      return std::nullopt;
    }
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view host_port = authority;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    host_port = authority.substr(at + 1);
  }
  std::string_view host = host_port;
  std::optional<std::string_view> port;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close == 1) {
      why = "invalid IPv6 address";
      return std::nullopt;
    }
    for (const char c : host_port.substr(1, close - 1)) {
      const bool ok = text::hex_value(c) >= 0 || c == ':' || c == '.';
      if (!ok) {
        why = "invalid IPv6 address";
        return std::nullopt;
      }
    }
    host = host_port.substr(0, close + 1);
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        why = "invalid host";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    if (const auto colon = host_port.find(':'); colon != std::string_view::npos) {
      host = host_port.substr(0, colon);
      port = host_port.substr(colon + 1);
    }
    for (const char c : host) {
      const bool ok = text::is_alnum(c) || c == '-' || c == '.' || c == '_';
      if (!ok) {
        why = "invalid host";
        return std::nullopt;
      }
    }
  }
  if (host.empty()) {
    why = "the URL has no host";
    return std::nullopt;
  }
  if (port) {
    const auto value = parse_u64(*port);
    if (!value || *value == 0 || *value > 65535) {
      why = "invalid port";
      return std::nullopt;
    }
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string out;
  for (const char c : scheme) out += to_lower(c);
  out += "://";
  out += rest;
  return out;
}

// ---------------------------------------------------------------------------------------------
// libcurl handles

// The lock callbacks of a share object: one mutex per kind of shared data, as libcurl requires.
class ShareLocks {
 public:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<ShareLocks*>(self)->mutex_for(data).lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<ShareLocks*>(self)->mutex_for(data).unlock();
  }

 private:
  std::mutex& mutex_for(curl_lock_data data) {
    const auto i = static_cast<std::size_t>(data);
    return m_mutexes[i < m_mutexes.size() ? i : 0];
  }
  std::array<std::mutex, CURL_LOCK_DATA_LAST> m_mutexes;
};

// Idle easy handles. Each handle keeps its own cache of live connections across
// curl_easy_reset, so a transfer that takes a recently used handle reuses its connection (and TLS
// session) to the upstream. libcurl does not support sharing one connection cache between
// threads (CURL_LOCK_DATA_CONNECT is documented as unsupported for concurrent threads), so
// connections are reused through handles, and a handle belongs to one transfer at a time.
class HandlePool {
 public:
  explicit HandlePool(std::size_t max_idle) : m_max_idle(max_idle) {}

  Easy acquire() {
    {
      std::lock_guard lock(m_mutex);
      if (!m_idle.empty()) {
        Easy h = std::move(m_idle.back());
        m_idle.pop_back();
        return h;
      }
    }
    return new_easy();
  }

  // Forgets every option of the finished transfer (they point into it) but keeps connections.
  void release(Easy h) {
    curl_easy_reset(h.get());
    std::lock_guard lock(m_mutex);
    if (m_idle.size() < m_max_idle) m_idle.push_back(std::move(h));
    // else the handle and its connections are closed when `h` goes out of scope
  }

 private:
  std::mutex m_mutex;
  std::vector<Easy> m_idle;
  std::size_t m_max_idle;
};

class Lease {
 public:
  explicit Lease(HandlePool& pool) : m_pool(pool), m_handle(pool.acquire()) {}
  ~Lease() { m_pool.release(std::move(m_handle)); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  CURL* get() const { return m_handle.get(); }

 private:
  HandlePool& m_pool;
  Easy m_handle;
};

// ---------------------------------------------------------------------------------------------
// One transfer

// Where a 200 body goes.
class Sink {
 public:
  explicit Sink(fsio::TempFile& file) : m_file(&file) {}
  explicit Sink(std::string& str) : m_string(&str) {}
  void clear() {
    if (m_file != nullptr) {
      m_file->clear();
    } else {
      m_string->clear();
    }
  }
  void append(std::string_view bytes) {
    if (m_file != nullptr) {
      m_file->write(bytes);
    } else {
      m_string->append(bytes);
    }
  }

 private:
  fsio::TempFile* m_file = nullptr;
  std::string* m_string = nullptr;
};

// Bytes of an error body kept for the message, and read in all (then the transfer is cut, and the
// connection with it): small 404 bodies are read to the end so that the connection is reused,
// which matters when the go command probes every prefix of an import path.
constexpr std::size_t k_detail_capture = 1024;
constexpr std::uint64_t k_error_body_limit = 64 * 1024;
constexpr std::size_t k_detail_max = 512;
constexpr std::size_t k_message_max = 2048;
// The largest list read to decide whether an entry without @latest names one (as big as the
// lists the proxy serves).
constexpr std::uint64_t k_latest_list_bytes = 16 << 20;
constexpr long k_max_redirects = 10;
constexpr std::size_t k_max_idle_handles = 32;

struct Transfer {
  enum class Stop : std::uint8_t {
    none,
    too_large,
    encoded,
    stalled,
    sink_failed,
    error_body_read,
    framing
  };

  Sink* sink = nullptr;
  std::uint64_t max_bytes = 0;
  std::chrono::milliseconds stall_timeout{0};

  // Progress: the last time any byte (header or body) arrived.
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  curl_off_t last_body_bytes = 0;

  // Where connections may go (egress.hpp); `refused` says why one was not opened or used.
  CURL* handle = nullptr;
  std::optional<EgressGuard> guard;
  std::string refused;

  // The response being received; a status line (redirect, 1xx, retry) starts a new one.
  long status = 0;
  bool http1 = false;  // HTTP/1.0 or 1.1: framed by Content-Length, chunking, or the close
  bool headers_done = false;
  std::optional<std::uint64_t> content_length;  // of the first Content-Length header
  int content_length_headers = 0;
  int transfer_encoding_headers = 0;
  std::string transfer_encoding;
  std::string framing_error;  // why the end of this body could not be proven
  std::string content_type;
  std::string content_encoding;
  std::uint64_t received = 0;  // body bytes of a 200 written to the sink
  std::string error_body;      // the first k_detail_capture bytes of any other body
  std::uint64_t error_body_seen = 0;

  Stop stop = Stop::none;
  std::exception_ptr sink_error;

  bool fail_sink(std::exception_ptr e) {
    sink_error = std::move(e);
    stop = Stop::sink_failed;
    return false;
  }

  bool start_response(long code) {
    const bool wrote = received > 0;
    status = code;
    headers_done = false;
    content_length.reset();
    content_length_headers = 0;
    transfer_encoding_headers = 0;
    transfer_encoding.clear();
    framing_error.clear();
    content_type.clear();
    content_encoding.clear();
    received = 0;
    error_body.clear();
    error_body_seen = 0;
    if (wrote) {
      try {
        sink->clear();
      } catch (...) {
        return fail_sink(std::current_exception());
      }
    }
    return true;
  }
};

// Why the end of a 200 body with these headers could not be proven, if it could not. libcurl
// takes the last of several Content-Length headers, lets chunking win over a Content-Length, and
// reads a body without either up to the close of the connection, which a reset or a crash of the
// upstream (or a proxy in between) also produces: stored bytes must come from framing that says
// where the body ends, and says it once.
std::optional<std::string> framing_problem(const Transfer& t) {
  if (!t.framing_error.empty()) return t.framing_error;
  if (t.transfer_encoding_headers > 0) {
    if (t.transfer_encoding_headers > 1 || !iequals(t.transfer_encoding, "chunked")) {
      return "unsupported Transfer-Encoding \"" + t.transfer_encoding + "\"";
    }
    if (t.content_length_headers > 0) return "both Content-Length and Transfer-Encoding";
    return std::nullopt;
  }
  if (t.content_length_headers == 0 && t.http1) {
    return "neither Content-Length nor chunked: the end of the body is not proven";
  }
  return std::nullopt;
}

long parse_status_line(std::string_view line) {
  // "HTTP/1.1 200 OK\r\n", "HTTP/2 404 \r\n"
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  const auto code = parse_u64(line.substr(space + 1, 3));
  return code ? static_cast<long>(*code) : 0;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t.last_progress = std::chrono::steady_clock::now();
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    if (!t.start_response(parse_status_line(line))) return 0;
    t.http1 = line.starts_with("HTTP/1.");
    return n;
  }
  if (t.headers_done) return n;  // trailers
  if (trim_space(line).empty()) {
    t.headers_done = true;
    if (t.status == 200) {
      if (auto why = framing_problem(t)) {
        t.framing_error = std::move(*why);
        t.stop = Transfer::Stop::framing;
        return 0;
      }
      if (t.content_length && *t.content_length > t.max_bytes) {
        t.stop = Transfer::Stop::too_large;
        return 0;
      }
      if (!t.content_encoding.empty() && !iequals(t.content_encoding, "identity")) {
        t.stop = Transfer::Stop::encoded;
        return 0;
      }
    }
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = trim_space(line.substr(0, colon));
  const std::string_view value = trim_space(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    const auto length = parse_u64(value);
    if (!length) {
      t.framing_error = "invalid Content-Length \"" + std::string(value) + "\"";
    } else if (t.content_length_headers == 0) {
      t.content_length = length;
    } else if (t.content_length != length) {
      t.framing_error = "conflicting Content-Length headers (" +
                        std::to_string(t.content_length.value_or(0)) + " and " +
                        std::to_string(*length) + ")";
    }
    ++t.content_length_headers;
  } else if (iequals(name, "transfer-encoding")) {
    t.transfer_encoding = value;
    ++t.transfer_encoding_headers;
  } else if (iequals(name, "content-type")) {
    t.content_type = value;
  } else if (iequals(name, "content-encoding")) {
    t.content_encoding = value;
  }
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t.status == 200) {
    if (n > t.max_bytes - t.received) {
      t.stop = Transfer::Stop::too_large;
      return 0;
    }
    try {
      t.sink->append(std::string_view(data, n));
    } catch (...) {
      t.fail_sink(std::current_exception());
      return 0;
    }
    t.received += n;
    return n;
  }
  if (t.error_body.size() < k_detail_capture) {
    t.error_body.append(data, std::min(n, k_detail_capture - t.error_body.size()));
  }
  t.error_body_seen += n;
  if (t.error_body_seen > k_error_body_limit) {
    t.stop = Transfer::Stop::error_body_read;
    return 0;
  }
  return n;
}

// Stall detection. libcurl's CURLOPT_LOW_SPEED_LIMIT/TIME compares an average over a window of
// several seconds, so a transfer that stops after a burst is noticed only seconds after
// `stall_timeout`, and only in whole seconds. This checks "no byte for stall_timeout" instead;
// libcurl calls it at least about once a second, also while waiting for the response headers.
int on_progress(void* user, curl_off_t, curl_off_t body_bytes, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (body_bytes != t.last_body_bytes) {
    t.last_body_bytes = body_bytes;
    t.last_progress = now;
    return 0;
  }
  if (t.stall_timeout.count() > 0 && now - t.last_progress >= t.stall_timeout) {
    t.stop = Transfer::Stop::stalled;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

struct AttemptConfig {
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds total_timeout;
  std::chrono::milliseconds stall_timeout;
  const std::string* user_agent = nullptr;
  curl_slist* headers = nullptr;
  CURLSH* share = nullptr;
  std::span<const Network> redirect_allow;
};

// ---------------------------------------------------------------------------------------------
// Egress: where each hop may connect (egress.hpp)

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// The origin of `url` as libcurl itself reads it (so the check and the connection agree).
std::optional<Origin> origin_of(const char* url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url, 0) != CURLUE_OK) return std::nullopt;
  const auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
    char* text = nullptr;
    if (curl_url_get(u.get(), which, &text, flags) != CURLUE_OK || text == nullptr) {
      return std::nullopt;
    }
    std::string out(text);
    curl_free(text);
    return out;
  };
  auto scheme = part(CURLUPART_SCHEME, 0);
  auto host = part(CURLUPART_HOST, 0);
  const auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!scheme || !host || !port) return std::nullopt;
  const auto number = parse_u64(*port);
  if (!number || *number > 65535) return std::nullopt;
  for (char& c : *scheme) c = to_lower(c);
  for (char& c : *host) c = to_lower(c);
  return Origin{std::move(*scheme), std::move(*host), static_cast<std::uint16_t>(*number)};
}

// Checks a connection to `address`:`port` for the hop libcurl is at now. Sets `t.refused` and
// returns false when it must not be made or used.
bool allow_connection(Transfer& t, const std::optional<IpAddress>& address, std::uint16_t port) {
  char* current = nullptr;
  curl_easy_getinfo(t.handle, CURLINFO_EFFECTIVE_URL, &current);
  const auto hop = origin_of(current != nullptr ? current : "");
  if (!hop || !address) {
    t.refused = "connection refused: cannot tell where it goes";
    return false;
  }
  if (auto why = t.guard->check(*hop, *address, port)) {
    t.refused = std::move(*why);
    return false;
  }
  return true;
}

// Before a connection is opened: a refused address is never even connected to, so a redirect
// cannot probe which internal ports are open.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* sa) {
  auto& t = *static_cast<Transfer*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  std::optional<IpAddress> address;
  std::uint16_t port = 0;
  if (sa->family == AF_INET && sa->addrlen >= sizeof(sockaddr_in)) {
    sockaddr_in in{};
    std::memcpy(&in, &sa->addr, sizeof in);
    IpAddress a;
    std::memcpy(a.bytes.data(), &in.sin_addr, 4);
    address = a;
    port = ntohs(in.sin_port);
  } else if (sa->family == AF_INET6 && sa->addrlen >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, &sa->addr, sizeof in6);
    IpAddress a;
    a.v6 = true;
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    address = a;
    port = ntohs(in6.sin6_port);
  }
  if (!allow_connection(t, address, port)) return CURL_SOCKET_BAD;
  return ::socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

// Before every request, on a new or a reused connection (a reused one was opened for an
// earlier hop or transfer, under that hop's origin).
int on_prereq(void* user, char* primary_ip, char*, int primary_port, int) {
  auto& t = *static_cast<Transfer*>(user);
  const auto address = parse_ip(primary_ip != nullptr ? primary_ip : "");
  const bool ok = primary_port > 0 && primary_port <= 65535 &&
                  allow_connection(t, address, static_cast<std::uint16_t>(primary_port));
  return ok ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

Outcome finish(Status status, int http_status, std::string message, std::string_view url,
               bool timed_out = false) {
  Outcome o;
  o.status = status;
  o.http_status = http_status;
  o.timed_out = timed_out;
  o.message = sanitize_line(text::scrub_userinfo(std::move(message), url), k_message_max);
  return o;
}

// One GET of `url` (already escaped) with its own redirects; the body of a 200 goes to `sink`.
// Throws what the sink throws.
Outcome perform(CURL* h, const std::string& url, const AttemptConfig& config, Sink& sink,
                std::uint64_t max_bytes) {
  Transfer t;
  t.sink = &sink;
  t.max_bytes = max_bytes;
  t.stall_timeout = config.stall_timeout;
  t.handle = h;
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  const std::string redirect_schemes(redirect_protocols(url));
  const auto configured = origin_of(url.c_str());
  if (!configured)
    return finish(Status::failed, 0, text::redact_credentials(url) + ": invalid URL", url);
  t.guard.emplace(*configured, config.redirect_allow);

  set(h, CURLOPT_URL, url.c_str());
  set(h, CURLOPT_PROTOCOLS_STR, "http,https");
  set(h, CURLOPT_FOLLOWLOCATION, 1L);
  set(h, CURLOPT_MAXREDIRS, k_max_redirects);
  set(h, CURLOPT_REDIR_PROTOCOLS_STR, redirect_schemes.c_str());
  set(h, CURLOPT_NOSIGNAL, 1L);
  set(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count()));
  set(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config.total_timeout.count()));
  set(h, CURLOPT_NOPROGRESS, 0L);
  set(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  set(h, CURLOPT_XFERINFODATA, static_cast<void*>(&t));
  set(h, CURLOPT_TCP_KEEPALIVE, 1L);
  set(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  if (config.user_agent != nullptr) set(h, CURLOPT_USERAGENT, config.user_agent->c_str());
  if (config.headers != nullptr) set(h, CURLOPT_HTTPHEADER, config.headers);
  if (config.share != nullptr) set(h, CURLOPT_SHARE, config.share);
  set(h, CURLOPT_ERRORBUFFER, errbuf.data());
  set(h, CURLOPT_HEADERFUNCTION, &on_header);
  set(h, CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(h, CURLOPT_WRITEFUNCTION, &on_body);
  set(h, CURLOPT_WRITEDATA, static_cast<void*>(&t));
  set(h, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
  set(h, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&t));
  set(h, CURLOPT_PREREQFUNCTION, &on_prereq);
  set(h, CURLOPT_PREREQDATA, static_cast<void*>(&t));

  const CURLcode rc = curl_easy_perform(h);
  if (t.sink_error) std::rethrow_exception(t.sink_error);

  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  const int status = static_cast<int>(code);
  const std::string where = text::redact_credentials(url);

  switch (t.stop) {
    case Transfer::Stop::too_large:
      return finish(Status::failed, status,
                    where + ": body larger than " + std::to_string(max_bytes) + " bytes", url);
    case Transfer::Stop::encoded:
      return finish(Status::failed, status,
                    where + ": unrequested Content-Encoding " + t.content_encoding, url);
    case Transfer::Stop::framing:
      return finish(Status::failed, status, where + ": " + t.framing_error, url);
    case Transfer::Stop::none:
    case Transfer::Stop::stalled:
    case Transfer::Stop::sink_failed:
    case Transfer::Stop::error_body_read:
      break;
  }
  if ((code == 404 || code == 410) && t.headers_done) {
    auto detail = error_detail(t.content_type, t.error_body, k_detail_max);
    return finish(Status::not_found, status,
                  detail ? std::move(*detail) : "not found: " + where + ": " + std::to_string(code),
                  url);
  }
  if (t.stop == Transfer::Stop::stalled) {
    return finish(
        Status::failed, status,
        where + ": stalled: no data for " + std::to_string(t.stall_timeout.count()) + " ms", url,
        true);
  }
  if (rc != CURLE_OK && !t.refused.empty()) {
    // A refused hop is the upstream's failure (it sent stoa somewhere it may not go), never
    // "not found"; the next request tries the upstream afresh.
    return finish(Status::failed, status, where + ": " + t.refused, url);
  }
  if (rc != CURLE_OK) {
    const std::string what = errbuf[0] != '\0' ? errbuf.data() : curl_easy_strerror(rc);
    return finish(Status::failed, status, where + ": " + what, url, rc == CURLE_OPERATION_TIMEDOUT);
  }
  if (code != 200) {
    std::string message = where + ": upstream answered HTTP " + std::to_string(code);
    if (auto detail = error_detail(t.content_type, t.error_body, k_detail_max)) {
      message += ": " + *detail;
    }
    return finish(Status::failed, status, std::move(message), url);
  }
  if (t.content_length && t.received != *t.content_length) {
    return finish(Status::failed, status,
                  where + ": body truncated: received " + std::to_string(t.received) + " of " +
                      std::to_string(*t.content_length) + " bytes",
                  url);
  }
  Outcome ok;
  ok.status = Status::ok;
  ok.http_status = 200;
  return ok;
}

// ---------------------------------------------------------------------------------------------
// The upstream

class HttpUpstream final : public Upstream {
 public:
  explicit HttpUpstream(UpstreamOptions options)
      : m_options(std::move(options)), m_pool(k_max_idle_handles) {
    for (const auto& entry : m_options.proxies.entries) {
      if (!istarts_with(entry.base_url, "http://") && !istarts_with(entry.base_url, "https://")) {
        throw std::invalid_argument("upstream proxy URLs must be http:// or https:// URLs");
      }
    }
    for (const auto& header : m_options.extra_headers) {
      const auto colon = header.find(':');
      const bool one_line =
          header.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
      const std::string_view name = std::string_view(header).substr(0, colon);
      if (colon == std::string::npos || !one_line || name.empty() || trim_space(name) != name ||
          name.find(' ') != std::string_view::npos) {
        throw std::invalid_argument("extra upstream headers must be \"Name: value\" on one line");
      }
      curl_slist* next = curl_slist_append(m_headers.get(), header.c_str());
      if (next == nullptr) throw std::bad_alloc();
      if (!m_headers) m_headers.reset(next);
    }

    // DNS answers and TLS sessions are shared by every handle of this upstream (thread-safe
    // through the lock callbacks); connections are not, see HandlePool.
    m_share.reset(curl_share_init());
    if (!m_share) throw std::runtime_error("curl_share_init failed");
    bool ok = curl_share_setopt(m_share.get(), CURLSHOPT_LOCKFUNC, &ShareLocks::lock) == CURLSHE_OK;
    ok = ok &&
         curl_share_setopt(m_share.get(), CURLSHOPT_UNLOCKFUNC, &ShareLocks::unlock) == CURLSHE_OK;
    ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_USERDATA, &m_locks) == CURLSHE_OK;
    ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
    ok = ok && curl_share_setopt(m_share.get(), CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ==
                   CURLSHE_OK;
    if (!ok) throw std::runtime_error("curl_share_setopt failed");
  }

  using Upstream::get;

  Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes,
              const Headers& request_headers) override {
    Sink sink(out);
    return walk(suffix, sink, max_bytes, request_headers);
  }

  Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes,
              const Headers& request_headers) override {
    Sink sink(out);
    return walk(suffix, sink, max_bytes, request_headers);
  }

 private:
  // cmd/go/internal/modfetch.TryProxies: a failure outranks a not-found, the later of equals
  // wins, and a failure stops the walk unless the entry is followed by '|'.
  static void append_header(Slist& list, const char* header) {
    curl_slist* next = curl_slist_append(list.get(), header);
    if (next == nullptr) throw std::bad_alloc();
    if (!list) list.reset(next);
  }

  Outcome walk(const std::string& suffix, Sink& sink, std::uint64_t max_bytes,
               const Headers& request_headers) {
    const auto& entries = m_options.proxies.entries;
    if (entries.empty()) {
      Outcome none;
      none.status = Status::not_found;
      none.message = "not found: no upstream proxy configured";
      none.exhausted = true;
      return none;
    }
    const std::string escaped = path_escape(suffix);
    // "<module>/@v/list" beside a "<module>/@latest" request, empty for any other request.
    std::string list_of_latest;
    if (constexpr std::string_view k_latest = "/@latest"; escaped.ends_with(k_latest)) {
      list_of_latest = escaped.substr(0, escaped.size() - k_latest.size()) + "/@v/list";
    }
    // This call's own headers (e.g. traceparent) go after the configured ones, in a list of
    // their own; without any, the shared list is used as is.
    Slist call_headers;
    if (!request_headers.empty()) {
      for (const curl_slist* h = m_headers.get(); h != nullptr; h = h->next) {
        append_header(call_headers, h->data);
      }
      for (const auto& h : request_headers) {
        if (h.find_first_of("\r\n") == std::string::npos) append_header(call_headers, h.c_str());
      }
    }
    AttemptConfig config{m_options.connect_timeout,
                         m_options.total_timeout,
                         m_options.stall_timeout,
                         &m_options.user_agent,
                         call_headers ? call_headers.get() : m_headers.get(),
                         m_share.get(),
                         m_options.redirect_allow};
    std::optional<Outcome> reported;
    for (const auto& entry : entries) {
      sink.clear();
      Outcome outcome;
      {
        Lease handle(m_pool);
        outcome = perform(handle.get(), entry.base_url + "/" + escaped, config, sink, max_bytes);
      }
      if (outcome.status == Status::ok) return outcome;
      if (outcome.status == Status::not_found && !list_of_latest.empty()) {
        // modfetch proxyRepo.Latest: given a 404 for @latest, the go command computes the latest
        // version from this entry's list and goes on to the next entry only when that finds
        // none (an error other than not-found stops the walk as any failure does). Here the
        // client computes it, from the list this walk serves: the 404 stands, and no later entry
        // (nor direct) may answer in its place.
        std::string list;
        Sink list_sink(list);
        Outcome listed;
        {
          Lease handle(m_pool);
          listed = perform(handle.get(), entry.base_url + "/" + list_of_latest, config, list_sink,
                           k_latest_list_bytes);
        }
        if (listed.status == Status::failed) {
          outcome = std::move(listed);
        } else if (listed.status == Status::ok && module::latest_from_list(list)) {
          outcome.exhausted = false;
          return outcome;
        }
      }
      const bool failed = outcome.status == Status::failed;
      if (failed || !reported || reported->status == Status::not_found) {
        reported = std::move(outcome);
      }
      if (failed && !entry.fall_through_on_error) {
        reported->exhausted = false;
        return std::move(*reported);
      }
    }
    reported->exhausted = true;
    return std::move(*reported);
  }

  // Declaration order is destruction order in reverse: handles (which may still be attached to
  // the share) go before the share, and the share before its locks.
  UpstreamOptions m_options;
  Slist m_headers;
  ShareLocks m_locks;
  Share m_share;
  HandlePool m_pool;
};

}  // namespace

std::optional<ProxyList> parse_proxy_list(std::string_view value, std::string* error) {
  const auto fail = [&](std::string message) -> std::optional<ProxyList> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  ProxyList list;
  std::size_t index = 0;
  while (!value.empty()) {
    std::string_view item = value;
    bool fall_through = false;
    if (const auto sep = value.find_first_of(",|"); sep != std::string_view::npos) {
      item = value.substr(0, sep);
      fall_through = value[sep] == '|';
      value.remove_prefix(sep + 1);
    } else {
      value = {};
    }
    item = trim_space(item);
    if (item.empty()) continue;
    ++index;
    if (item == "off") {
      list.off = true;
      break;
    }
    if (item == "direct") {
      list.direct = true;
      break;
    }
    std::string url(item);
    // The go command: single words are reserved, anything else without a scheme is https.
    if (url.find_first_of(".:/") != std::string::npos && url.find(":/") == std::string::npos &&
        url.front() != '/') {
      url = "https://" + url;
    }
    std::string why;
    auto normalized = normalize_proxy_url(url, why);
    if (!normalized) {
      return fail("invalid GOPROXY entry #" + std::to_string(index) + ": " + why);
    }
    list.entries.push_back(ProxyEntry{std::move(*normalized), fall_through});
  }
  if (list.entries.empty() && !list.direct && !list.off) {
    return fail("GOPROXY list contains no entries");
  }
  return list;
}

std::unique_ptr<Upstream> make_http_upstream(UpstreamOptions options) {
  ensure_curl_initialized();
  return std::make_unique<HttpUpstream>(std::move(options));
}

std::optional<std::string> get_once(const std::string& url, std::chrono::milliseconds timeout,
                                    std::uint64_t max_bytes) {
  ensure_curl_initialized();
  const std::string user_agent = "stoa";
  const AttemptConfig config{timeout, timeout, timeout, &user_agent, nullptr, nullptr, {}};
  std::string body;
  Sink sink(body);
  Easy h = new_easy();
  if (perform(h.get(), url, config, sink, max_bytes).status != Status::ok) return std::nullopt;
  return body;
}

}  // namespace stoa::fetch
