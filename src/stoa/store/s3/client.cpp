#include "stoa/store/s3/client.hpp"

#include <limits>
#include <thread>
#include <utility>

#include "stoa/store/http_body.hpp"
#include "stoa/store/keys.hpp"
#include "stoa/store/s3/sigv4.hpp"
#include "stoa/store/s3/xml.hpp"

namespace stoa::store::s3 {

namespace {

// Bodies kept in memory: LIST pages and small objects. A LIST page of 1000 keys of at most a
// few hundred bytes each stays well under this; anything bigger is a broken server.
constexpr std::uint64_t k_max_in_memory = std::uint64_t{16} << 20;
// Error documents are a few hundred bytes; more is read (so that the connection is reused) but
// not kept.
constexpr std::size_t k_error_capture = std::size_t{64} * 1024;
constexpr std::uint64_t k_error_read_limit = 1 << 20;
constexpr std::size_t k_max_idle_handles = 64;

bool retryable_status(long status) { return status >= 500 || status == 429; }

}  // namespace

void fail(std::string message) { throw StoreError("s3 store: " + std::move(message)); }

std::string describe(const Response& r) {
  const xml::ErrorDocument e = xml::parse_error(r.body);
  std::string out = "HTTP " + std::to_string(r.status);
  if (!e.code.empty()) out += " " + e.code;
  if (!e.message.empty()) out += ": " + e.message.substr(0, 300);
  return out;
}

Client::Client(S3Options o) : m_o(std::move(o)), m_pool(k_max_idle_handles) {
  if (m_o.endpoint.empty()) fail("no endpoint");
  while (!m_o.endpoint.empty() && m_o.endpoint.back() == '/') m_o.endpoint.pop_back();
  if (!m_o.endpoint.starts_with("http://") && !m_o.endpoint.starts_with("https://")) {
    fail("endpoint must start with http:// or https://: " + m_o.endpoint);
  }
  if (m_o.bucket.empty()) fail("no bucket");
  if (!m_o.prefix.empty() && m_o.prefix.back() != '/') m_o.prefix += '/';
  if (m_o.prefix.starts_with('/')) fail("prefix must not start with '/'");
  if (m_o.access_key.empty() || m_o.secret_key.empty()) {
    fail(
        "no credentials (s3_access_key and s3_secret_key, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY)");
  }
  if (m_o.max_attempts < 1) m_o.max_attempts = 1;
  if (m_o.virtual_host) {
    const std::size_t scheme_end = m_o.endpoint.find("://") + 3;
    m_base =
        m_o.endpoint.substr(0, scheme_end) + m_o.bucket + "." + m_o.endpoint.substr(scheme_end);
    m_bucket_path = "";
  } else {
    m_base = m_o.endpoint;
    m_bucket_path = "/" + sigv4::uri_encode(m_o.bucket, false);
  }
  m_sigv4 = "aws:amz:" + m_o.region + ":s3";
}

std::string Client::object_path(std::string_view key) const {
  return m_bucket_path + "/" + sigv4::uri_encode(m_o.prefix, true) + sigv4::uri_encode(key, true);
}

Response Client::perform(const Request& q) {
  std::chrono::milliseconds backoff = m_o.first_backoff;
  std::string last_error;
  for (int attempt_no = 1;; ++attempt_no) {
    Response r;
    std::string error;
    if (attempt(q, r, error)) {
      // A conditional create racing another on AWS answers 409: retrying gives the 412.
      const bool conflict =
          r.status == 409 && xml::parse_error(r.body).code == "ConditionalRequestConflict";
      if ((!retryable_status(r.status) && !conflict) || attempt_no >= m_o.max_attempts) return r;
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

bool Client::exists(const std::string& key) {
  Request q;
  q.method = "HEAD";
  q.path = object_path(key);
  q.what = "HEAD " + keys::printable(key);
  const Response r = perform(q);
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  fail(q.what + ": " + describe(r));
}

bool Client::attempt(const Request& q, Response& r, std::string& error) {
  curl::Lease lease(m_pool);
  CURL* h = lease.get();
  http_body::Upload upload;
  upload.bytes = q.bytes;
  upload.fd = q.fd;
  upload.offset = q.offset;
  upload.length = q.length;

  std::string url = m_base + q.path;
  if (!q.query.empty()) url += "?" + q.query;
  curl::set(h, CURLOPT_URL, url.c_str());
  curl::set(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl::set(h, CURLOPT_AWS_SIGV4, m_sigv4.c_str());
  curl::set(h, CURLOPT_USERNAME, m_o.access_key.c_str());
  curl::set(h, CURLOPT_PASSWORD, m_o.secret_key.c_str());

  curl::Slist headers;
  for (const std::string& line : q.headers) curl::append(headers, line);
  curl::append(headers, "Expect:");  // no 100-continue round trip
  // Payloads are not hashed (TLS protects them in transit); libcurl signs this header too.
  curl::append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  if (!m_o.session_token.empty())
    curl::append(headers, "x-amz-security-token: " + m_o.session_token);

  const bool has_body = q.bytes != nullptr || q.fd >= 0;
  const std::uint64_t body_size = q.bytes != nullptr ? q.bytes->size() : q.length;
  if (q.method == "HEAD") {
    curl::set(h, CURLOPT_NOBODY, 1L);
  } else if (q.method == "PUT") {
    curl::set(h, CURLOPT_UPLOAD, 1L);
    curl::set(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
    curl::set(h, CURLOPT_READFUNCTION, &http_body::read_upload);
    curl::set(h, CURLOPT_READDATA, static_cast<void*>(&upload));
  } else if (q.method == "POST") {
    // Small in-memory bodies only (multipart create and complete): libcurl hashes them.
    const std::string* body = has_body ? q.bytes : nullptr;
    curl::set(h, CURLOPT_POST, 1L);
    curl::set(h, CURLOPT_POSTFIELDSIZE_LARGE,
              static_cast<curl_off_t>(body != nullptr ? body->size() : 0));
    curl::set(h, CURLOPT_POSTFIELDS, body != nullptr ? body->data() : "");
    curl::append(headers, "Content-Type: application/xml");
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
  http_body::SpoolSink sink("s3 store", q.spool_over, m_o.spool_dir, r.body, r.file, r.file_size);
  curl::Result result = curl::perform(h, sink, options);
  if (!result.answered()) {
    error = !upload.error.empty() ? upload.error : result.error;
    // The handle may hold a broken connection: close it rather than pool it.
    lease.discard();
    return false;
  }
  r.status = result.response.status;
  if (!curl::any_2xx(r.status)) r.body = std::move(result.response.error_body);
  r.http = std::move(result.response);
  return true;
}

}  // namespace stoa::store::s3
