#include "stoa/fetch/upstream.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/pool.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/fetch/egress.hpp"
#include "stoa/fetch/wire.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::fetch {

namespace {

// ---------------------------------------------------------------------------------------------
// Text helpers

using text::iequals;
using text::istarts_with;
using text::parse_u64;
using text::to_lower;
using text::trim_space;

// ---------------------------------------------------------------------------------------------
// One transfer

// Bytes of an error body kept for the message, and read in all (then the transfer is cut, and the
// connection with it): small 404 bodies are read to the end so that the connection is reused,
// which matters when the go command probes every prefix of an import path.
constexpr std::size_t k_detail_capture = 1024;
constexpr std::uint64_t k_error_body_limit = std::uint64_t{64} * 1024;
constexpr std::size_t k_detail_max = 512;
constexpr std::size_t k_message_max = 2048;
constexpr long k_max_redirects = 10;
constexpr std::size_t k_max_idle_handles = 32;

// Why the end of a 200 body with these headers could not be proven, if it could not. libcurl
// takes the last of several Content-Length headers, lets chunking win over a Content-Length, and
// reads a body without either up to the close of the connection, which a reset or a crash of the
// upstream (or a proxy in between) also produces: stored bytes must come from framing that says
// where the body ends, and says it once.
std::optional<std::string> framing_problem(const curl::Response& r) {
  std::optional<std::uint64_t> length;
  int lengths = 0;
  int encodings = 0;
  std::string_view encoding;
  for (const auto& [name, value] : r.headers) {
    if (name == "content-length") {
      const auto parsed = parse_u64(value);
      if (!parsed) return "invalid Content-Length \"" + value + "\"";
      if (lengths > 0 && *length != *parsed) {
        return "conflicting Content-Length headers (" + std::to_string(*length) + " and " +
               std::to_string(*parsed) + ")";
      }
      length = parsed;
      ++lengths;
    } else if (name == "transfer-encoding") {
      encoding = value;
      ++encodings;
    }
  }
  if (encodings > 0) {
    if (encodings > 1 || !iequals(encoding, "chunked")) {
      return "unsupported Transfer-Encoding \"" + std::string(encoding) + "\"";
    }
    if (lengths > 0) return "both Content-Length and Transfer-Encoding";
    return std::nullopt;
  }
  if (lengths == 0 && r.http1) {
    return "neither Content-Length nor chunked: the end of the body is not proven";
  }
  return std::nullopt;
}

// Where a 200 body goes, once its framing and encoding were found acceptable.
class BodySink final : public curl::Sink {
 public:
  explicit BodySink(fsio::TempFile& file) : m_file(&file) {}
  explicit BodySink(std::string& str) : m_string(&str) {}

  std::optional<std::string> start(const curl::Response& r) override {
    if (auto why = framing_problem(r)) return why;
    const std::string* encoding = r.header("content-encoding");
    if (encoding != nullptr && !iequals(*encoding, "identity")) {
      return "unrequested Content-Encoding " + *encoding;
    }
    return std::nullopt;
  }
  void clear() override {
    if (m_file != nullptr) {
      m_file->clear();
    } else {
      m_string->clear();
    }
  }
  void append(std::string_view bytes) override {
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

// The largest list read to decide whether an entry without @latest names one (as big as the
// lists the proxy serves).
constexpr std::uint64_t k_latest_list_bytes = 16 << 20;

std::string_view content_type(const curl::Response& r) {
  const std::string* type = r.header("content-type");
  return type != nullptr ? std::string_view(*type) : std::string_view();
}

struct AttemptConfig {
  curl::Limits limits;
  const std::string* user_agent = nullptr;
  curl_slist* headers = nullptr;
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

// One transfer's egress rule and why it refused a connection, if it did.
struct Egress {
  CURL* handle = nullptr;
  std::optional<EgressGuard> guard;
  std::string refused;
};

// Checks a connection to `address`:`port` for the hop libcurl is at now. Sets `e.refused` and
// returns false when it must not be made or used.
bool allow_connection(Egress& e, const std::optional<IpAddress>& address, std::uint16_t port) {
  char* current = nullptr;
  curl_easy_getinfo(e.handle, CURLINFO_EFFECTIVE_URL, &current);
  const auto hop = origin_of(current != nullptr ? current : "");
  if (!hop || !address) {
    e.refused = "connection refused: cannot tell where it goes";
    return false;
  }
  if (auto why = e.guard->check(*hop, *address, port)) {
    e.refused = std::move(*why);
    return false;
  }
  return true;
}

// Before a connection is opened: a refused address is never even connected to, so a redirect
// cannot probe which internal ports are open.
curl_socket_t on_open_socket(void* user, curlsocktype purpose, curl_sockaddr* sa) {
  auto& e = *static_cast<Egress*>(user);
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
  if (!allow_connection(e, address, port)) return CURL_SOCKET_BAD;
  return ::socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

// Before every request, on a new or a reused connection (a reused one was opened for an
// earlier hop or transfer, under that hop's origin).
// NOLINTNEXTLINE(readability-non-const-parameter): libcurl fixes the type (CURLOPT_PREREQFUNCTION)
int on_prereq(void* user, char* primary_ip, char*, int primary_port, int) {
  auto& e = *static_cast<Egress*>(user);
  const auto address = parse_ip(primary_ip != nullptr ? primary_ip : "");
  const bool ok = primary_port > 0 && primary_port <= 65535 &&
                  allow_connection(e, address, static_cast<std::uint16_t>(primary_port));
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
Outcome perform(CURL* h, const std::string& url, const AttemptConfig& config, BodySink& sink,
                std::uint64_t max_bytes) {
  const std::string redirect_schemes(redirect_protocols(url));
  const auto configured = origin_of(url.c_str());
  if (!configured)
    return finish(Status::failed, 0, text::redact_credentials(url) + ": invalid URL", url);
  Egress egress;
  egress.handle = h;
  egress.guard.emplace(*configured, config.redirect_allow);

  curl::set(h, CURLOPT_URL, url.c_str());
  curl::set(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl::set(h, CURLOPT_MAXREDIRS, k_max_redirects);
  curl::set(h, CURLOPT_REDIR_PROTOCOLS_STR, redirect_schemes.c_str());
  if (config.user_agent != nullptr) curl::set(h, CURLOPT_USERAGENT, config.user_agent->c_str());
  if (config.headers != nullptr) curl::set(h, CURLOPT_HTTPHEADER, config.headers);
  curl::set(h, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
  curl::set(h, CURLOPT_OPENSOCKETDATA, static_cast<void*>(&egress));
  curl::set(h, CURLOPT_PREREQFUNCTION, &on_prereq);
  curl::set(h, CURLOPT_PREREQDATA, static_cast<void*>(&egress));

  curl::Options options;
  options.limits = config.limits;
  options.max_body = max_bytes;
  options.error_capture = k_detail_capture;
  options.error_read_limit = k_error_body_limit;
  const curl::Result r = curl::perform(h, sink, options);
  const curl::Response& response = r.response;
  const long code = response.status;
  const int status = static_cast<int>(code);
  const std::string where = text::redact_credentials(url);

  if (r.stop == curl::Stop::too_large || r.stop == curl::Stop::refused) {
    return finish(Status::failed, status, where + ": " + r.error, url);
  }
  if ((code == 404 || code == 410) && response.headers_done) {
    auto detail = error_detail(content_type(response), response.error_body, k_detail_max);
    return finish(Status::not_found, status,
                  detail ? std::move(*detail) : "not found: " + where + ": " + std::to_string(code),
                  url);
  }
  if (r.stop == curl::Stop::stalled) {
    return finish(Status::failed, status, where + ": " + r.error, url, true);
  }
  if (!r.ok() && !egress.refused.empty()) {
    // A refused hop is the upstream's failure (it sent stoa somewhere it may not go), never
    // "not found"; the next request tries the upstream afresh.
    return finish(Status::failed, status, where + ": " + egress.refused, url);
  }
  if (!r.answered())
    return finish(Status::failed, status, where + ": " + r.error, url, r.timed_out());
  if (code != 200) {
    std::string message = where + ": upstream answered HTTP " + std::to_string(code);
    if (auto detail = error_detail(content_type(response), response.error_body, k_detail_max)) {
      message += ": " + *detail;
    }
    return finish(Status::failed, status, std::move(message), url);
  }
  // A 200 that framing_problem() let through has one agreed Content-Length, or none (chunked).
  const std::string* length = response.header("content-length");
  if (length != nullptr && response.body_bytes != parse_u64(*length)) {
    return finish(Status::failed, status,
                  where + ": body truncated: received " + std::to_string(response.body_bytes) +
                      " of " + *length + " bytes",
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
      curl::append(m_headers, header);
    }
  }

  using Upstream::get;

  Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes,
              const Headers& request_headers) override {
    BodySink sink(out);
    return walk(suffix, sink, max_bytes, request_headers);
  }

  Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes,
              const Headers& request_headers) override {
    BodySink sink(out);
    return walk(suffix, sink, max_bytes, request_headers);
  }

 private:
  // cmd/go/internal/modfetch.TryProxies: a failure outranks a not-found, the later of equals
  // wins, and a failure stops the walk unless the entry is followed by '|'.
  Outcome walk(const std::string& suffix, BodySink& sink, std::uint64_t max_bytes,
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
    curl::Slist call_headers;
    if (!request_headers.empty()) {
      for (const curl_slist* h = m_headers.get(); h != nullptr; h = h->next) {
        curl::append(call_headers, h->data);
      }
      for (const auto& h : request_headers) {
        if (h.find_first_of("\r\n") == std::string::npos) curl::append(call_headers, h);
      }
    }
    AttemptConfig config{
        {m_options.connect_timeout, m_options.total_timeout, m_options.stall_timeout},
        &m_options.user_agent,
        call_headers ? call_headers.get() : m_headers.get(),
        m_options.redirect_allow};
    std::optional<Outcome> reported;
    for (const auto& entry : entries) {
      sink.clear();
      Outcome outcome;
      {
        curl::Lease handle(m_pool);
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
        BodySink list_sink(list);
        Outcome listed;
        {
          curl::Lease handle(m_pool);
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

  UpstreamOptions m_options;
  curl::Slist m_headers;
  curl::Pool m_pool;
};

}  // namespace

std::unique_ptr<Upstream> make_http_upstream(UpstreamOptions options) {
  curl::ensure_initialized();
  return std::make_unique<HttpUpstream>(std::move(options));
}

std::optional<std::string> get_once(const std::string& url, std::chrono::milliseconds timeout,
                                    std::uint64_t max_bytes) {
  curl::ensure_initialized();
  const std::string user_agent = "stoa";
  const AttemptConfig config{{timeout, timeout, timeout}, &user_agent, nullptr, {}};
  std::string body;
  BodySink sink(body);
  curl::Easy h = curl::new_easy();
  if (perform(h.get(), url, config, sink, max_bytes).status != Status::ok) return std::nullopt;
  return body;
}

}  // namespace stoa::fetch
