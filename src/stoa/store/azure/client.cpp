#include "stoa/store/azure/client.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <thread>
#include <utility>

#include "stoa/store/azure/shared_key.hpp"
#include "stoa/store/azure/xml.hpp"
#include "stoa/store/http_body.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::store::azure {

namespace {

// Bodies kept in memory: List Blobs pages and small objects. A page of 5000 names of at most a
// few hundred bytes each, with their properties, stays under this; more is a broken server.
constexpr std::uint64_t k_max_in_memory = std::uint64_t{16} << 20;
constexpr std::size_t k_error_capture = std::size_t{64} * 1024;
constexpr std::uint64_t k_error_read_limit = 1 << 20;
constexpr std::size_t k_max_idle_handles = 64;

bool retryable_status(long status) { return status >= 500 || status == 429; }

// The characters of a blob name that stoa writes (those of store keys, keys.hpp): sent in the
// URL as they are, so the path signed is the path sent, encoded or not.
bool plain_path_char(char c) {
  return text::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '!' || c == '@' || c == '/';
}

std::string query_encode(std::string_view s) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    if (text::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[static_cast<unsigned char>(c) >> 4];
      out += k_hex[static_cast<unsigned char>(c) & 0xf];
    }
  }
  return out;
}

// RFC 1123 in GMT, with English names whatever the locale: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t t) {
  static constexpr const char* k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", k_days[tm.tm_wday],
                tm.tm_mday, k_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

bool valid_container(std::string_view c) {
  if (c.size() < 3 || c.size() > 63 || c.front() == '-' || c.back() == '-') return false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!text::is_lower(c[i]) && !text::is_digit(c[i]) && c[i] != '-') return false;
    if (c[i] == '-' && i > 0 && c[i - 1] == '-') return false;
  }
  return true;
}

bool valid_account(std::string_view a) {
  if (a.empty() || a.size() > 63) return false;
  for (const char c : a) {
    if (!text::is_lower(c) && !text::is_digit(c)) return false;
  }
  return true;
}

}  // namespace

void fail(std::string message) { throw StoreError("azure store: " + std::move(message)); }

std::string Response::error_code() const {
  if (const std::string* code = header("x-ms-error-code"); code != nullptr && !code->empty()) {
    return *code;
  }
  return xml::parse_error(body).code;
}

std::string describe(const Response& r) {
  const xml::ErrorDocument e = xml::parse_error(r.body);
  const std::string code = r.error_code();
  std::string out = "HTTP " + std::to_string(r.status);
  if (!code.empty()) out += " " + code;
  if (!e.message.empty()) {
    // The message's first line (the service adds a request id and a time on the next ones).
    out += ": " + e.message.substr(0, std::min<std::size_t>(e.message.find('\n'), 300));
  }
  return out;
}

Client::Client(AzureOptions o) : m_o(std::move(o)), m_pool(k_max_idle_handles) {
  if (!m_o.account.empty() && !valid_account(m_o.account)) {
    fail("account must be 1 to 63 lowercase letters and digits: " + m_o.account);
  }
  if (m_o.endpoint.empty()) {
    if (m_o.account.empty()) fail("no account and no endpoint");
    m_o.endpoint = "https://" + m_o.account + ".blob.core.windows.net";
  }
  while (!m_o.endpoint.empty() && m_o.endpoint.back() == '/') m_o.endpoint.pop_back();
  if (!m_o.endpoint.starts_with("http://") && !m_o.endpoint.starts_with("https://")) {
    fail("endpoint must start with http:// or https://: " + m_o.endpoint);
  }
  if (m_o.endpoint.find_first_of("?#@ ") != std::string::npos) {
    fail("endpoint must be scheme://host[:port][/path], without a query or credentials");
  }
  const std::size_t host = m_o.endpoint.find("://") + 3;
  const std::size_t path = m_o.endpoint.find('/', host);
  m_origin = m_o.endpoint.substr(0, path);
  m_base_path = path == std::string::npos ? std::string() : m_o.endpoint.substr(path);
  for (const char c : m_base_path) {
    if (!plain_path_char(c))
      fail("endpoint path has a character stoa does not send: " + m_o.endpoint);
  }
  if (!valid_container(m_o.container)) {
    fail("container must be 3 to 63 lowercase letters, digits and single hyphens: " +
         m_o.container);
  }
  if (!m_o.prefix.empty() && m_o.prefix.back() != '/') m_o.prefix += '/';
  if (m_o.prefix.starts_with('/') || m_o.prefix.find("//") != std::string::npos) {
    fail("prefix must not start with '/' nor hold '//'");
  }
  for (const char c : m_o.prefix) {
    if (!plain_path_char(c)) fail("prefix may hold only A-Z a-z 0-9 - . _ ~ + ! @ /");
  }
  if (m_o.sas_token.starts_with('?')) m_o.sas_token.erase(0, 1);
  if (!m_o.account_key.empty()) {
    if (m_o.account.empty()) fail("a Shared Key needs the account name");
    if (!shared_key::base64_decode(m_o.account_key)) fail("the account key is not base64");
  } else if (m_o.sas_token.empty() && !m_o.managed_identity) {
    fail(
        "no credentials (azure_key, azure_sas, azure_managed_identity, or the "
        "AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING "
        "environment variables)");
  }
  if (m_o.account_key.empty() && m_o.sas_token.empty()) {
    m_identity = std::make_unique<ManagedIdentity>(m_o.identity_endpoint, m_o.identity_client_id,
                                                   m_o.connect_timeout,
                                                   [] { return std::chrono::system_clock::now(); });
  }
  if (m_o.max_attempts < 1) m_o.max_attempts = 1;
}

Response Client::perform(const Request& q) {
  std::chrono::milliseconds backoff = m_o.first_backoff;
  std::string last_error;
  for (int attempt_no = 1;; ++attempt_no) {
    Response r;
    std::string error;
    if (attempt(q, r, error)) {
      if (!retryable_status(r.status) || attempt_no >= m_o.max_attempts) return r;
      last_error = describe(r);
    } else {
      last_error = error;
      if (attempt_no >= m_o.max_attempts) break;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  fail(q.what + ": " + last_error + " (after " + std::to_string(m_o.max_attempts) + " attempts)");
}

bool Client::attempt(const Request& q, Response& r, std::string& error) {
  const bool has_body = q.bytes != nullptr || q.fd >= 0;
  http_body::Upload upload;
  upload.bytes = q.bytes;
  upload.fd = q.fd;
  upload.offset = q.offset;
  upload.length = has_body ? q.length : 0;

  shared_key::Request signed_request;
  signed_request.method = q.method;
  signed_request.path = m_base_path + "/" + m_o.container + (q.blob.empty() ? "" : "/" + q.blob);
  for (const char c : q.blob) {
    if (!plain_path_char(c)) fail(q.what + ": blob name with a character stoa does not send");
  }
  signed_request.query = q.query;
  signed_request.headers = q.headers;
  signed_request.headers.emplace_back("x-ms-date", http_date(std::time(nullptr)));
  signed_request.headers.emplace_back("x-ms-version", k_api_version);
  if (q.method == "PUT") {
    // libcurl sends it from CURLOPT_INFILESIZE_LARGE; it is signed too.
    signed_request.headers.emplace_back("Content-Length", std::to_string(upload.size()));
  }

  std::string url = m_origin + signed_request.path;
  std::string query;
  for (const auto& [name, value] : q.query) {
    query += (query.empty() ? "" : "&") + query_encode(name) + "=" + query_encode(value);
  }
  std::string authorization;
  if (!m_o.account_key.empty()) {
    authorization = *shared_key::authorization(m_o.account, m_o.account_key, signed_request);
  } else if (!m_o.sas_token.empty()) {
    query += (query.empty() ? "" : "&") + m_o.sas_token;
  } else {
    authorization = "Bearer " + m_identity->token();
  }
  if (!query.empty()) url += "?" + query;

  curl::Lease lease(m_pool);
  CURL* h = lease.get();
  curl::set(h, CURLOPT_URL, url.c_str());
  curl::set(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl::Slist headers;
  for (const auto& [name, value] : signed_request.headers) {
    if (text::iequals(name, "content-length")) continue;  // libcurl's own
    curl::append(headers, name + ": " + value);
  }
  if (!authorization.empty()) curl::append(headers, "Authorization: " + authorization);
  curl::append(headers, "Expect:");  // no 100-continue round trip
  if (q.method == "PUT") {
    curl::set(h, CURLOPT_UPLOAD, 1L);
    curl::set(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload.size()));
    curl::set(h, CURLOPT_READFUNCTION, &http_body::read_upload);
    curl::set(h, CURLOPT_READDATA, static_cast<void*>(&upload));
  } else if (q.method == "HEAD") {
    curl::set(h, CURLOPT_NOBODY, 1L);
  } else if (q.method == "DELETE") {
    curl::set(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  curl::set(h, CURLOPT_HTTPHEADER, headers.get());

  curl::Options options;
  options.limits = {m_o.connect_timeout, std::chrono::milliseconds(0), m_o.stall_timeout};
  options.accept = &curl::any_2xx;
  options.max_body = q.spool_over > 0 || q.method == "HEAD"
                         ? std::numeric_limits<std::uint64_t>::max()
                         : k_max_in_memory;
  options.error_capture = k_error_capture;
  options.error_read_limit = k_error_read_limit;
  http_body::SpoolSink sink("azure store", q.spool_over, m_o.spool_dir, r.body, r.file,
                            r.file_size);
  curl::Result result = curl::perform(h, sink, options);
  if (!result.answered()) {
    error = !upload.error.empty() ? upload.error : result.error;
    lease.discard();  // the handle may hold a broken connection
    return false;
  }
  r.status = result.response.status;
  if (!curl::any_2xx(r.status)) r.body = std::move(result.response.error_body);
  r.http = std::move(result.response);
  return true;
}

}  // namespace stoa::store::azure
