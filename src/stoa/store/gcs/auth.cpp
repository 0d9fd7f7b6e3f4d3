#include "stoa/store/gcs/auth.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>
#include <vector>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/store/gcs/jwt.hpp"

namespace stoa::store::gcs {

namespace {

namespace json = boost::json;
using std::chrono::seconds;

// Google's OAuth 2.0 token endpoint, for keys that name none (every key file names one).
constexpr const char* k_default_token_uri = "https://oauth2.googleapis.com/token";
constexpr seconds k_max_margin{300};
constexpr seconds k_retry_pause{10};
constexpr std::size_t k_max_answer = std::size_t{64} * 1024;

[[noreturn]] void fail(std::string message) {
  throw StoreError("gcs store: " + std::move(message));
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string string_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct Answer {
  long status = 0;
  std::string body;
  std::string error;  // transport failure
};

// One request for a token: a POST of `form` (application/x-www-form-urlencoded) or, with an
// empty form, a GET; `headers` added. The answer's body whatever its status (bounded).
Answer request(const GcsOptions& o, const std::string& url, const std::string& form,
               const std::vector<std::string>& headers) {
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  curl::set(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl::Slist list;
  for (const std::string& line : headers) curl::append(list, line);
  if (!form.empty()) {
    curl::set(h.get(), CURLOPT_POST, 1L);
    curl::set(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form.size()));
    curl::set(h.get(), CURLOPT_POSTFIELDS, form.c_str());
    curl::append(list, "Content-Type: application/x-www-form-urlencoded");
  }
  curl::set(h.get(), CURLOPT_HTTPHEADER, list.get());
  Answer a;
  curl::StringSink sink(a.body);
  curl::Options options;
  options.limits = {o.connect_timeout, std::chrono::milliseconds(30'000), o.stall_timeout};
  options.accept = [](long) { return true; };
  options.max_body = k_max_answer;
  const curl::Result r = curl::perform(h.get(), sink, options);
  if (!r.ok()) {
    a.error = r.error;
    return a;
  }
  a.status = r.response.status;
  return a;
}

// An error answer's "error"/"error_description" (OAuth) for a message; never the token.
std::string describe(const Answer& a) {
  std::string out = "HTTP " + std::to_string(a.status);
  if (const auto o = parse_object(a.body)) {
    const std::string error = string_field(*o, "error");
    const std::string description = string_field(*o, "error_description");
    if (!error.empty()) out += " " + error.substr(0, 100);
    if (!description.empty()) out += ": " + description.substr(0, 300);
  }
  return out;
}

}  // namespace

std::optional<ServiceAccountKey> parse_service_account_key(std::string_view json_text,
                                                           std::string& error) {
  const auto o = parse_object(json_text);
  if (!o) {
    error = "not a JSON object";
    return std::nullopt;
  }
  const std::string type = string_field(*o, "type");
  if (type != "service_account") {
    error = "\"type\" is not \"service_account\"";
    return std::nullopt;
  }
  ServiceAccountKey key;
  key.client_email = string_field(*o, "client_email");
  key.private_key = string_field(*o, "private_key");
  key.private_key_id = string_field(*o, "private_key_id");
  key.token_uri = string_field(*o, "token_uri");
  if (key.client_email.empty()) {
    error = "no \"client_email\"";
    return std::nullopt;
  }
  if (key.private_key.empty()) {
    error = "no \"private_key\"";
    return std::nullopt;
  }
  if (key.token_uri.empty()) key.token_uri = k_default_token_uri;
  if (!key.token_uri.starts_with("https://") && !key.token_uri.starts_with("http://")) {
    error = "\"token_uri\" is not an http(s) URL";
    return std::nullopt;
  }
  return key;
}

std::optional<AccessToken> parse_token_response(std::string_view json_text) {
  const auto o = parse_object(json_text);
  if (!o) return std::nullopt;
  AccessToken t;
  t.value = string_field(*o, "access_token");
  const json::value* expires = o->if_contains("expires_in");
  if (t.value.empty() || expires == nullptr) return std::nullopt;
  // A token is sent in a header: it must not be able to end the line.
  if (!std::all_of(t.value.begin(), t.value.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return std::nullopt;
  }
  if (expires->is_int64() && expires->as_int64() > 0) {
    t.lifetime = seconds(expires->as_int64());
  } else if (expires->is_uint64() && expires->as_uint64() > 0) {
    t.lifetime = seconds(static_cast<std::int64_t>(
        std::min<std::uint64_t>(expires->as_uint64(), std::uint64_t{1} << 31)));
  } else {
    return std::nullopt;
  }
  return t;
}

TokenSource::TokenSource(const GcsOptions& o, Clock now) : m_o(o), m_now(std::move(now)) {
  if (m_o.auth == GcsAuth::service_account) {
    std::string error;
    m_key = parse_service_account_key(m_o.key_json, error);
    if (!m_key) {
      fail("credentials " + (m_o.key_origin.empty() ? std::string("key") : m_o.key_origin) +
           ": not a service-account key: " + error);
    }
    // Sign once now, so that a key OpenSSL cannot use stops startup here.
    JwtClaims claims{m_key->client_email, m_o.scope, m_key->token_uri, 0, 3600};
    if (!sign_jwt(claims, m_key->private_key, m_key->private_key_id, error)) {
      fail("credentials " + m_o.key_origin + ": " + error);
    }
  } else if (m_o.auth == GcsAuth::metadata && m_o.metadata_host.empty()) {
    fail("no metadata server host");
  }
}

std::string TokenSource::authorization() {
  if (m_o.auth == GcsAuth::none) return {};
  const std::lock_guard lock(m_mutex);
  const auto now = m_now();
  const bool valid = !m_header.empty() && now < m_expires;
  if (valid && (now < m_refresh_at || now < m_retry_after)) return m_header;
  try {
    const AccessToken t = fetch();
    ++m_fetches;
    m_header = "Authorization: Bearer " + t.value;
    m_expires = now + t.lifetime;
    m_refresh_at = m_expires - std::min<seconds>(k_max_margin, t.lifetime / 2);
  } catch (const StoreError&) {
    if (!valid) throw;
    m_retry_after = now + k_retry_pause;  // keep the token that still works
  }
  return m_header;
}

void TokenSource::invalidate(const std::string& authorization) {
  const std::lock_guard lock(m_mutex);
  if (!authorization.empty() && authorization == m_header) m_header.clear();
}

int TokenSource::fetches() const {
  const std::lock_guard lock(m_mutex);
  return m_fetches;
}

AccessToken TokenSource::fetch() {
  return m_o.auth == GcsAuth::service_account ? fetch_with_key() : fetch_from_metadata();
}

AccessToken TokenSource::fetch_with_key() {
  const auto now = std::chrono::duration_cast<seconds>(m_now().time_since_epoch()).count();
  JwtClaims claims{m_key->client_email, m_o.scope, m_key->token_uri, now, 3600};
  std::string error;
  const std::optional<std::string> jwt =
      sign_jwt(claims, m_key->private_key, m_key->private_key_id, error);
  if (!jwt) fail("sign token request: " + error);
  // A JWT is base64url and dots: nothing in it needs escaping in a form.
  const std::string form =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *jwt;
  const Answer a = request(m_o, m_key->token_uri, form, {"Accept: application/json"});
  const std::string what = "access token from " + m_key->token_uri + " for " + m_key->client_email;
  if (!a.error.empty()) fail(what + ": " + a.error);
  if (a.status != 200) fail(what + ": " + describe(a));
  auto t = parse_token_response(a.body);
  if (!t) fail(what + ": unreadable answer");
  return std::move(*t);
}

AccessToken TokenSource::fetch_from_metadata() {
  const std::string url =
      "http://" + m_o.metadata_host + "/computeMetadata/v1/instance/service-accounts/default/token";
  const Answer a = request(m_o, url, "", {"Metadata-Flavor: Google"});
  const std::string what = "access token from the metadata server " + m_o.metadata_host;
  if (!a.error.empty()) fail(what + ": " + a.error);
  if (a.status != 200) fail(what + ": HTTP " + std::to_string(a.status));
  auto t = parse_token_response(a.body);
  if (!t) fail(what + ": unreadable answer");
  return std::move(*t);
}

}  // namespace stoa::store::gcs
