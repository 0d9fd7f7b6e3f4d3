#include "stoa/store/azure/identity.hpp"

#include <boost/json.hpp>

#include <utility>

#include "stoa/curl/transfer.hpp"
#include "stoa/store/store.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::store::azure {

namespace {

namespace json = boost::json;

constexpr std::uint64_t k_max_answer = std::uint64_t{64} * 1024;

// A number, or a string of decimal digits, as seconds.
std::optional<std::int64_t> seconds_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64() && v->as_int64() >= 0) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_string()) {
    const json::string& s = v->as_string();
    const auto n = text::parse_u64(std::string_view(s.data(), s.size()));
    if (n && *n < (std::uint64_t{1} << 62)) return static_cast<std::int64_t>(*n);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Token> parse_token(std::string_view body, std::chrono::system_clock::time_point now) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  const json::value* access = o.if_contains("access_token");
  if (access == nullptr || !access->is_string() || access->as_string().empty()) return std::nullopt;
  Token t;
  t.value = std::string(access->as_string().data(), access->as_string().size());
  if (const auto on = seconds_of(o.if_contains("expires_on"))) {
    t.expires = std::chrono::system_clock::time_point(std::chrono::seconds(*on));
  } else if (const auto in = seconds_of(o.if_contains("expires_in"))) {
    t.expires = now + std::chrono::seconds(*in);
  } else {
    return std::nullopt;
  }
  return t;
}

ManagedIdentity::ManagedIdentity(std::string endpoint, const std::string& client_id,
                                 std::chrono::milliseconds connect_timeout, Clock clock)
    : m_connect_timeout(connect_timeout), m_clock(std::move(clock)), m_pool(1) {
  m_url =
      std::move(endpoint) + "?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F";
  if (!client_id.empty()) {
    std::string encoded;
    for (const char c : client_id) {
      if (text::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        encoded += c;
      } else {
        static constexpr char k_hex[] = "0123456789ABCDEF";
        encoded += '%';
        encoded += k_hex[static_cast<unsigned char>(c) >> 4];
        encoded += k_hex[static_cast<unsigned char>(c) & 0xf];
      }
    }
    m_url += "&client_id=" + encoded;
  }
}

std::string ManagedIdentity::token() {
  const std::lock_guard lock(m_mutex);
  if (m_cached && m_clock() + k_refresh_margin < m_cached->expires) return m_cached->value;
  m_cached = fetch();
  return m_cached->value;
}

Token ManagedIdentity::fetch() {
  auto fail = [](const std::string& why) -> Token {
    throw StoreError("azure store: managed identity token: " + why);
  };
  curl::Lease lease(m_pool);
  CURL* h = lease.get();
  curl::set(h, CURLOPT_URL, m_url.c_str());
  curl::set(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl::set(h, CURLOPT_NOPROXY, "*");  // the metadata endpoint is never reached through a proxy
  curl::Slist headers;
  curl::append(headers, "Metadata: true");
  curl::set(h, CURLOPT_HTTPHEADER, headers.get());
  std::string body;
  curl::StringSink sink(body);
  curl::Options options;
  options.limits = {m_connect_timeout, std::chrono::milliseconds(30'000),
                    std::chrono::milliseconds(0)};
  options.max_body = k_max_answer;
  options.error_capture = 300;
  const curl::Result r = curl::perform(h, sink, options);
  if (!r.answered()) {
    lease.discard();
    return fail(r.error);
  }
  if (r.response.status != 200) {
    // The error body names the problem ("Identity not found"); it holds no token.
    std::string detail;
    for (const char c : r.response.error_body) detail += text::is_space(c) || c < ' ' ? ' ' : c;
    return fail("HTTP " + std::to_string(r.response.status) +
                (detail.empty() ? "" : ": " + detail.substr(0, 200)));
  }
  std::optional<Token> t = parse_token(body, m_clock());
  if (!t) return fail("the answer holds no access_token with expires_on or expires_in");
  return std::move(*t);
}

}  // namespace stoa::store::azure
