#include "stoa/store/gcs/client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <limits>
#include <system_error>
#include <thread>
#include <utility>

#include "stoa/text/ascii.hpp"

namespace stoa::store::gcs {

namespace {

// Bodies kept in memory: listing pages and small objects. A page of 1000 names of at most a
// few hundred bytes each (with the fields that are asked for) stays well under this.
constexpr std::uint64_t k_max_in_memory = std::uint64_t{16} << 20;
constexpr std::size_t k_error_capture = std::size_t{64} * 1024;
constexpr std::uint64_t k_error_read_limit = 1 << 20;
constexpr std::size_t k_max_idle_handles = 64;

bool retryable_status(long status) { return status >= 500 || status == 429 || status == 408; }

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A success body: in memory, or in an unlinked file of the spool directory when it is (or may
// be) bigger than Request::spool_over.
class BodySink final : public curl::Sink {
 public:
  BodySink(const Request& q, Response& r, const std::filesystem::path& spool_dir)
      : m_q(q), m_r(r), m_spool_dir(spool_dir) {}

  std::optional<std::string> start(const curl::Response& http) override {
    if (http.status != 200 || m_q.spool_over == 0) return std::nullopt;
    const std::string* length = http.header("content-length");
    const std::optional<std::uint64_t> n =
        length != nullptr ? text::parse_u64(*length) : std::nullopt;
    if (n && *n <= m_q.spool_over) return std::nullopt;
    m_r.file.reset(::open(m_spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!m_r.file) {
      return "spool file in " + m_spool_dir.native() + ": " +
             std::generic_category().message(errno);
    }
    return std::nullopt;
  }

  void append(std::string_view bytes) override {
    if (!m_r.file) {
      m_r.body.append(bytes);
      return;
    }
    if (!write_all(m_r.file.get(), bytes.data(), bytes.size())) {
      fail("write spool file: " + std::generic_category().message(errno));
    }
    m_r.file_size += bytes.size();
  }

  void clear() override {
    m_r.body.clear();
    m_r.file.reset();
    m_r.file_size = 0;
  }

 private:
  const Request& m_q;
  Response& m_r;
  const std::filesystem::path& m_spool_dir;
};

// The request body (head, file range, tail), read by libcurl.
struct Upload {
  const Request* q = nullptr;
  std::uint64_t sent = 0;
  std::string error;  // why reading stopped
};

std::uint64_t body_size(const Request& q) {
  return q.head.size() + (q.fd >= 0 ? q.length : 0) + q.tail.size();
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto& u = *static_cast<Upload*>(user);
  const Request& q = *u.q;
  const std::uint64_t file_length = q.fd >= 0 ? q.length : 0;
  const std::size_t room = size * n;
  if (u.sent < q.head.size()) {
    const std::size_t k = std::min<std::size_t>(room, q.head.size() - u.sent);
    std::copy_n(q.head.data() + u.sent, k, buf);
    u.sent += k;
    return k;
  }
  const std::uint64_t in_file = u.sent - q.head.size();
  if (in_file < file_length) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(room, file_length - in_file));
    ssize_t r = 0;
    do {
      r = ::pread(q.fd, buf, want, static_cast<off_t>(q.offset + in_file));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      u.error = r == 0 ? std::string("staged file shorter than its size")
                       : "read staged file: " + std::generic_category().message(errno);
      return CURL_READFUNC_ABORT;
    }
    u.sent += static_cast<std::uint64_t>(r);
    return static_cast<std::size_t>(r);
  }
  const std::uint64_t in_tail = in_file - file_length;
  if (in_tail >= q.tail.size()) return 0;
  const std::size_t k = std::min<std::size_t>(room, q.tail.size() - in_tail);
  std::copy_n(q.tail.data() + in_tail, k, buf);
  u.sent += k;
  return k;
}

}  // namespace

void fail(std::string message) { throw StoreError("gcs store: " + std::move(message)); }

std::string encode(std::string_view s) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 15];
    }
  }
  return out;
}

std::string describe(const Response& r) {
  std::string out = "HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(r.body, ec);
  std::string message;
  if (!ec && v.is_object()) {
    if (const auto* e = v.as_object().if_contains("error"); e != nullptr && e->is_object()) {
      if (const auto* m = e->as_object().if_contains("message"); m != nullptr && m->is_string()) {
        message = std::string(m->as_string());
      }
    }
  } else if (!r.body.empty() && r.body.front() != '<') {
    message = r.body;
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.pop_back();
  }
  std::replace_if(
      message.begin(), message.end(),
      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
  if (!message.empty()) out += ": " + message.substr(0, 300);
  return out;
}

bool is_no_such_object(const Response& r) {
  if (r.status != 404) return false;
  if (r.body.find("No such object") != std::string::npos) return true;
  std::string_view body(r.body);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  return body == "Not Found";
}

Client::Client(GcsOptions o) : m_o(std::move(o)), m_tokens(m_o), m_pool(k_max_idle_handles) {
  while (!m_o.endpoint.empty() && m_o.endpoint.back() == '/') m_o.endpoint.pop_back();
  if (m_o.endpoint.empty()) fail("no endpoint");
  if (!m_o.endpoint.starts_with("http://") && !m_o.endpoint.starts_with("https://")) {
    fail("endpoint must start with http:// or https://: " + m_o.endpoint);
  }
  if (m_o.bucket.empty()) fail("no bucket");
  if (!m_o.prefix.empty() && m_o.prefix.back() != '/') m_o.prefix += '/';
  if (m_o.prefix.starts_with('/')) fail("prefix must not start with '/'");
  if (m_o.max_attempts < 1) m_o.max_attempts = 1;
  m_objects = "/storage/v1/b/" + encode(m_o.bucket) + "/o";
  m_upload = "/upload/storage/v1/b/" + encode(m_o.bucket) + "/o";
}

std::string Client::object_path(std::string_view key) const {
  return m_objects + "/" + encode(m_o.prefix) + encode(key);
}

Response Client::perform(const Request& q) {
  std::chrono::milliseconds backoff = m_o.first_backoff;
  std::string last_error;
  const int attempts = q.retry ? m_o.max_attempts : 1;
  bool refreshed = false;
  for (int attempt_no = 1;; ++attempt_no) {
    Response r;
    std::string error;
    const std::string authorization = m_tokens.authorization();
    if (attempt(q, authorization, r, error)) {
      if (r.status == 401 && !authorization.empty() && !refreshed) {
        // An expired or revoked token: one more try with a fresh one, at once.
        m_tokens.invalidate(authorization);
        refreshed = true;
        --attempt_no;
        continue;
      }
      if (!retryable_status(r.status) || attempt_no >= attempts) return r;
      last_error = describe(r);
    } else {
      last_error = error;
      if (attempt_no >= attempts) break;
    }
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
  fail(q.what + ": " + last_error + " (after " + std::to_string(attempts) + " attempts)");
}

bool Client::attempt(const Request& q, const std::string& authorization, Response& r,
                     std::string& error) {
  curl::Lease lease(m_pool);
  CURL* h = lease.get();
  Upload upload;
  upload.q = &q;

  std::string url;
  if (q.target.starts_with("http://") || q.target.starts_with("https://")) {
    // A resumable session URL from the server: only ever the endpoint's own origin, so that the
    // token goes nowhere else.
    if (!q.target.starts_with(m_o.endpoint + "/")) {
      error = "session URL outside the endpoint";
      return false;
    }
    url = q.target;
  } else {
    url = m_o.endpoint + q.target;
  }
  if (!q.query.empty()) url += (url.find('?') == std::string::npos ? "?" : "&") + q.query;
  curl::set(h, CURLOPT_URL, url.c_str());
  curl::set(h, CURLOPT_FOLLOWLOCATION, 0L);

  curl::Slist headers;
  for (const std::string& line : q.headers) curl::append(headers, line);
  curl::append(headers, "Expect:");  // no 100-continue round trip
  if (!authorization.empty()) curl::append(headers, authorization);

  const bool has_body = !q.head.empty() || q.fd >= 0 || !q.tail.empty();
  const auto size = static_cast<curl_off_t>(body_size(q));
  if (q.method == "PUT") {
    curl::set(h, CURLOPT_UPLOAD, 1L);
    curl::set(h, CURLOPT_INFILESIZE_LARGE, size);
    curl::set(h, CURLOPT_READFUNCTION, &on_read);
    curl::set(h, CURLOPT_READDATA, static_cast<void*>(&upload));
  } else if (q.method == "POST") {
    curl::set(h, CURLOPT_POST, 1L);
    curl::set(h, CURLOPT_POSTFIELDSIZE_LARGE, has_body ? size : curl_off_t{0});
    if (has_body) {
      curl::set(h, CURLOPT_READFUNCTION, &on_read);
      curl::set(h, CURLOPT_READDATA, static_cast<void*>(&upload));
    } else {
      curl::set(h, CURLOPT_POSTFIELDS, "");
    }
  } else if (q.method == "DELETE") {
    curl::set(h, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  curl::set(h, CURLOPT_HTTPHEADER, headers.get());

  curl::Options options;
  options.limits = {m_o.connect_timeout, std::chrono::milliseconds(0), m_o.stall_timeout};
  options.accept = &curl::any_2xx;
  options.max_body = q.spool_over > 0 ? std::numeric_limits<std::uint64_t>::max() : k_max_in_memory;
  options.error_capture = k_error_capture;
  options.error_read_limit = k_error_read_limit;
  BodySink sink(q, r, m_o.spool_dir);
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

}  // namespace stoa::store::gcs
