#include "stoa/store/s3.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "stoa/store/keys.hpp"

namespace stoa::store {
namespace {

namespace fs = std::filesystem;
using fsio::UniqueFd;

// Bodies kept in memory: error documents and LIST pages. A LIST page of 1000 keys of at most a
// few hundred bytes each stays well under this; anything bigger is a broken server.
constexpr std::size_t k_max_xml = std::size_t{16} << 20;

[[noreturn]] void fail(std::string message) { throw StoreError("s3 store: " + std::move(message)); }

struct CurlDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// AWS SigV4 URI encoding: unreserved characters stay, everything else is %XX (uppercase);
// '/' stays in paths. What we send is then already canonical, whatever curl does with it.
std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 8);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
    }
  }
  return out;
}

// A query string with its parameters sorted and encoded (the SigV4 canonical form), so that the
// signature holds whichever curl version canonicalizes (or not) the query. Empty values keep '='.
std::string query_of(std::map<std::string, std::string> params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += uri_encode(k, false);
    out += '=';
    out += uri_encode(v, false);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// What one request sends.
struct Request {
  std::string method;  // GET HEAD PUT POST DELETE
  std::string path;    // encoded, from the endpoint root, e.g. "/bucket/pre/x/%40v/list"
  std::string query;   // canonical (query_of)
  std::vector<std::string> headers;
  // Body: `bytes` if set, else `length` bytes of `fd` from `offset` (fd < 0: no body).
  const std::string* bytes = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // GET: a 200 body bigger than this goes to an unlinked file in the spool directory.
  std::uint64_t spool_over = 0;  // 0: always in memory (capped at k_max_xml)
  std::string what;              // for error messages: "GET <key>"
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  UniqueFd file;  // the body, when it was spooled
  std::uint64_t file_size = 0;
};

// One transfer's state, reset before each attempt.
struct Transfer {
  const Request* req = nullptr;
  Response* resp = nullptr;
  CURL* handle = nullptr;
  const fs::path* spool_dir = nullptr;
  std::uint64_t sent = 0;
  bool decided = false;     // body sink chosen (memory or file)
  std::string local_error;  // set by a callback that aborted the transfer
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a new response (after 100 Continue)
  } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->resp->headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

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

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  Response& r = *t->resp;
  if (!t->decided) {
    t->decided = true;
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t length = -1;
    curl_easy_getinfo(t->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (status == 200 && t->req->spool_over > 0 &&
        (length < 0 || static_cast<std::uint64_t>(length) > t->req->spool_over)) {
      r.file.reset(::open(t->spool_dir->c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
      if (!r.file) {
        t->local_error = "spool file in " + t->spool_dir->native() + ": " +
                         std::generic_category().message(errno);
        return 0;
      }
    }
  }
  if (r.file) {
    if (!write_all(r.file.get(), data, len)) {
      t->local_error = "write spool file: " + std::generic_category().message(errno);
      return 0;
    }
    r.file_size += len;
    return len;
  }
  if (r.body.size() + len > std::max<std::size_t>(k_max_xml, t->req->spool_over)) {
    t->local_error = "response body too large";
    return 0;
  }
  r.body.append(data, len);
  return len;
}

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const Request& q = *t->req;
  const std::uint64_t total = q.bytes != nullptr ? q.bytes->size() : q.length;
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(size * n, total - t->sent));
  if (want == 0) return 0;
  if (q.bytes != nullptr) {
    std::memcpy(buf, q.bytes->data() + t->sent, want);
  } else {
    ssize_t r = 0;
    do {
      r = ::pread(q.fd, buf, want, static_cast<off_t>(q.offset + t->sent));
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
      t->local_error = r == 0 ? std::string("staged file shorter than its size")
                              : "read staged file: " + std::generic_category().message(errno);
      return CURL_READFUNC_ABORT;
    }
    t->sent += static_cast<std::uint64_t>(r);
    return static_cast<std::size_t>(r);
  }
  t->sent += want;
  return want;
}

// "Code: Message" of an S3 error document; the status alone when there is none.
struct S3Error {
  std::string code;
  std::string message;
};
S3Error parse_error(const std::string& body) {
  S3Error e;
  pugi::xml_document doc;
  if (body.empty() || !doc.load_buffer(body.data(), body.size())) return e;
  const pugi::xml_node err = doc.child("Error");
  e.code = err.child_value("Code");
  e.message = err.child_value("Message");
  return e;
}

std::string describe(const Response& r) {
  const S3Error e = parse_error(r.body);
  std::string out = "HTTP " + std::to_string(r.status);
  if (!e.code.empty()) out += " " + e.code;
  if (!e.message.empty()) out += ": " + e.message.substr(0, 300);
  return out;
}

bool retryable_status(long status) { return status >= 500 || status == 429; }

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += k_hex[p[i] >> 4];
    out += k_hex[p[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return hex(md, sizeof md);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr) {
    fail("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

class S3Store final : public Store {
 public:
  bool reads_may_block() const override { return true; }  // every read is a network round trip
  explicit S3Store(S3Options o) : m_o(std::move(o)) {
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
    if (m_o.part_size < (std::uint64_t{5} << 20)) fail("part size must be at least 5 MiB");
    if (m_o.max_attempts < 1) m_o.max_attempts = 1;
    if (m_o.spool_dir.empty()) fail("no spool directory");
    std::error_code ec;
    fs::create_directories(m_o.spool_dir, ec);
    if (ec) fail("create spool directory " + m_o.spool_dir.native() + ": " + ec.message());
    // Leftovers of a crash: staged files of interrupted puts (spooled reads have no name).
    for (const auto& entry : fs::directory_iterator(m_o.spool_dir, ec)) {
      if (entry.path().filename().native().starts_with("put-")) fs::remove(entry.path(), ec);
    }
    if (m_o.virtual_host) {
      const std::size_t scheme_end = m_o.endpoint.find("://") + 3;
      m_base =
          m_o.endpoint.substr(0, scheme_end) + m_o.bucket + "." + m_o.endpoint.substr(scheme_end);
      m_bucket_path = "";
    } else {
      m_base = m_o.endpoint;
      m_bucket_path = "/" + uri_encode(m_o.bucket, false);
    }
    m_sigv4 = "aws:amz:" + m_o.region + ":s3";
  }

  // Reaches the bucket and settles conditional writes. Throws StoreError.
  void open() {
    Request head;
    head.method = "HEAD";
    head.path = m_bucket_path.empty() ? "/" : m_bucket_path;
    head.what = "HEAD bucket " + m_o.bucket;
    const Response r = perform(head);
    if (r.status == 404) fail("bucket " + m_o.bucket + " does not exist at " + m_o.endpoint);
    if (r.status == 403) fail("access to bucket " + m_o.bucket + " denied (check the credentials)");
    if (r.status != 200) fail(head.what + ": " + describe(r));
    switch (m_o.conditional) {
      case ConditionalWrite::on:
        m_cond_put = m_cond_multipart = true;
        break;
      case ConditionalWrite::off:
        m_cond_put = m_cond_multipart = false;
        break;
      case ConditionalWrite::automatic:
        probe_conditional_writes();
        break;
    }
  }

  bool conditional_put() const { return m_cond_put; }

  // A SigV4 presigned GET of `key` (query-string authentication), valid for `ttl` from now.
  std::string presign_get(const std::string& key, std::chrono::seconds ttl) const {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[17];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    const std::string amz_date(stamp);
    const std::string date = amz_date.substr(0, 8);
    const std::string scope = date + "/" + m_o.region + "/s3/aws4_request";
    std::map<std::string, std::string> params = {
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", m_o.access_key + "/" + scope},
        {"X-Amz-Date", amz_date},
        {"X-Amz-Expires", std::to_string(std::clamp<std::int64_t>(ttl.count(), 1, 604800))},
        {"X-Amz-SignedHeaders", "host"},
    };
    if (!m_o.session_token.empty()) params["X-Amz-Security-Token"] = m_o.session_token;
    const std::string query = query_of(params);
    // m_base is scheme://host[:port][/base path]
    const std::size_t host_start = m_base.find("://") + 3;
    const std::size_t path_start = m_base.find('/', host_start);
    const std::string host = m_base.substr(host_start, path_start - host_start);
    const std::string base_path = path_start == std::string::npos ? "" : m_base.substr(path_start);
    const std::string path = base_path + object_path(key);
    const std::string canonical =
        "GET\n" + path + "\n" + query + "\nhost:" + host + "\n\nhost\nUNSIGNED-PAYLOAD";
    const std::string to_sign =
        "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + sha256_hex(canonical);
    std::string k = hmac_sha256("AWS4" + m_o.secret_key, date);
    k = hmac_sha256(k, m_o.region);
    k = hmac_sha256(k, "s3");
    k = hmac_sha256(k, "aws4_request");
    const std::string sig = hmac_sha256(k, to_sign);
    return m_base + object_path(key) + "?" + query + "&X-Amz-Signature=" +
           hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
  }

  // true when `key` is stored (HEAD). Throws StoreError on failure and on an invalid key.
  bool exists(const std::string& key) {
    if (!keys::is_valid(key)) fail("locate: invalid key " + keys::printable(key));
    return head_exists(key);
  }

  // Concurrent gets of one stored key share one GET (and one spool file): a zip that 100
  // clients ask for at once is transferred and spooled once, not 100 times. Only found objects
  // are shared: a caller that joined a flight which found nothing asks again itself, so that a
  // get started after a put returned always sees it. "list" and "@latest" are never shared.
  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) fail("get: invalid key " + keys::printable(key));
    if (key.ends_with("/@v/list") || key.ends_with("/@latest")) return get_once(key);
    std::shared_ptr<ReadFlight> flight;
    bool leader = false;
    {
      const std::lock_guard lock(m_reads_mutex);
      auto [it, inserted] = m_reads.try_emplace(key);
      if (inserted) {
        it->second = std::make_shared<ReadFlight>();
        leader = true;
      }
      flight = it->second;
    }
    if (leader) {
      try {
        flight->object = get_once(key);
      } catch (const StoreError&) {
        flight->error = std::current_exception();
      }
      {
        const std::lock_guard lock(m_reads_mutex);
        m_reads.erase(key);
      }
      {
        const std::lock_guard lock(flight->mutex);
        flight->done = true;
      }
      flight->cv.notify_all();
    } else {
      std::unique_lock lock(flight->mutex);
      flight->cv.wait(lock, [&] { return flight->done; });
    }
    if (flight->error) {
      if (!leader) return get_once(key);  // the leader's failure is its own; try once more
      std::rethrow_exception(flight->error);
    }
    if (!flight->object) return leader ? std::nullopt : get_once(key);
    return copy_of(*flight->object);
  }

  // All bytes of an object get_once() returned (in memory or spooled to a file).
  std::string read_body(const Object& obj) {
    if (const auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj.body)) {
      return **bytes;
    }
    const int fd = std::get<UniqueFd>(obj.body).get();
    std::string out(obj.size, '\0');
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("read spooled object: " + std::generic_category().message(errno));
      done += static_cast<std::size_t>(n);
    }
    return out;
  }

  std::optional<Object> get_once(const std::string& key) {
    Request q;
    q.method = "GET";
    q.path = object_path(key);
    q.spool_over = m_o.inline_max == 0 ? 1 : m_o.inline_max;
    q.what = "GET " + keys::printable(key);
    Response r = perform(q);
    if (r.status == 404) {
      const S3Error e = parse_error(r.body);
      if (e.code == "NoSuchKey" || (e.code.empty() && r.body.empty())) return std::nullopt;
      fail(q.what + ": " + describe(r));
    }
    if (r.status != 200) fail(q.what + ": " + describe(r));
    return object_of(key, std::move(r));
  }

  fsio::TempFile stage() override {
    try {
      return fsio::TempFile::create(m_o.spool_dir, "put-");
    } catch (const std::system_error& e) {
      fail(std::string("stage: ") + e.what());
    }
  }

  bool put(const std::string& key, fsio::TempFile staged) override {
    if (!keys::is_valid(key)) fail("put: invalid key " + keys::printable(key));
    if (staged.fd() < 0) fail("put: nothing staged for " + keys::printable(key));
    struct stat st {};
    if (::fstat(staged.fd(), &st) != 0) {
      fail("put: stat staged file: " + std::generic_category().message(errno));
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const bool multipart = size > m_o.part_size;
    const bool conditional = multipart ? m_cond_multipart : m_cond_put;
    if (!conditional && head_exists(key)) return false;
    const bool committed = multipart ? put_multipart(key, staged.fd(), size, conditional)
                                     : put_single(key, staged.fd(), size, conditional);
    if (!committed) return false;
    if (const auto info = keys::parse_info(key)) {
      const std::optional<std::string> version = keys::unescape_version(info->version);
      if (version && !keys::is_pseudo(*version)) {
        try {
          refresh_list(info->module);
        } catch (const StoreError& e) {
          throw DerivedFileError(std::string(e.what()) + " (" + keys::printable(key) +
                                 " is committed; the list converges on the next commit or repair)");
        }
      }
    }
    return true;
  }

  bool repair_list(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail("repair_list: invalid module " + keys::printable(escaped_module));
    }
    const std::string body = keys::render_list(list_versions(escaped_module));
    const auto stored = get_once(keys::list_key(escaped_module));
    if (stored ? read_body(*stored) == body : body.empty()) return false;
    refresh_list(escaped_module);
    return true;
  }

  std::vector<std::string> versions(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail("versions: invalid module " + keys::printable(escaped_module));
    }
    return list_versions(escaped_module);
  }

  std::vector<std::string> modules() override {
    std::set<std::string> out;
    list_keys(m_o.prefix, false, "LIST all modules", [&](std::string_view k) {
      const std::string_view key = k.substr(m_o.prefix.size());
      const auto at = key.rfind("/@v/");
      if (at != std::string_view::npos && keys::is_valid_module(key.substr(0, at))) {
        out.emplace(key.substr(0, at));
      }
    });
    return {out.begin(), out.end()};
  }

  std::vector<std::string> files(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail("files: invalid module " + keys::printable(escaped_module));
    }
    const std::string dir = m_o.prefix + escaped_module + "/@v/";
    std::vector<std::string> out;
    list_keys(dir, true, "LIST " + keys::printable(escaped_module), [&](std::string_view k) {
      if (k.size() > dir.size()) out.emplace_back(k.substr(dir.size()));
    });
    return out;
  }

 private:
  // ---- requests ----

  std::string object_path(std::string_view key) const {
    return m_bucket_path + "/" + uri_encode(m_o.prefix, true) + uri_encode(key, true);
  }

  CurlPtr acquire() {
    {
      const std::lock_guard lock(m_pool_mutex);
      if (!m_pool.empty()) {
        CurlPtr h = std::move(m_pool.back());
        m_pool.pop_back();
        return h;
      }
    }
    CurlPtr h(curl_easy_init());
    if (!h) fail("curl_easy_init failed");
    return h;
  }
  void release(CurlPtr h) {
    const std::lock_guard lock(m_pool_mutex);
    m_pool.push_back(std::move(h));
  }

  // One request with retries of transient failures. Returns the last response (any status);
  // throws StoreError when no response could be had.
  Response perform(const Request& q) {
    std::chrono::milliseconds backoff = m_o.first_backoff;
    std::string last_error;
    for (int attempt = 1;; ++attempt) {
      Response r;
      std::string error;
      if (attempt_once(q, r, error)) {
        // A conditional create racing another on AWS answers 409: retrying gives the 412.
        const bool conflict =
            r.status == 409 && parse_error(r.body).code == "ConditionalRequestConflict";
        if ((!retryable_status(r.status) && !conflict) || attempt >= m_o.max_attempts) return r;
        last_error = describe(r);
      } else {
        last_error = error;
        if (attempt >= m_o.max_attempts) break;
      }
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    fail(q.what + ": " + last_error + " (after " + std::to_string(m_o.max_attempts) + " attempts)");
  }

  // false with `error` set on a transport failure.
  bool attempt_once(const Request& q, Response& r, std::string& error) {
    CurlPtr handle = acquire();
    CURL* h = handle.get();
    curl_easy_reset(h);
    Transfer t;
    t.req = &q;
    t.resp = &r;
    t.handle = h;
    t.spool_dir = &m_o.spool_dir;

    std::string url = m_base + q.path;
    if (!q.query.empty()) url += "?" + q.query;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_o.connect_timeout.count()));
    // Stall detection: under 1 byte/s for the stall timeout.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(
        h, CURLOPT_LOW_SPEED_TIME,
        static_cast<long>(std::max<std::int64_t>(1, m_o.stall_timeout.count() / 1000)));
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, m_sigv4.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, m_o.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, m_o.secret_key.c_str());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);

    curl_slist* raw = nullptr;
    SlistPtr headers;
    auto add = [&](const std::string& line) {
      curl_slist* next = curl_slist_append(raw, line.c_str());
      if (next == nullptr) fail("out of memory");
      raw = next;
      headers.release();
      headers.reset(raw);
    };
    for (const std::string& line : q.headers) add(line);
    add("Expect:");  // no 100-continue round trip
    // Payloads are not hashed (TLS protects them in transit); curl signs this header too.
    add("x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!m_o.session_token.empty()) add("x-amz-security-token: " + m_o.session_token);

    const bool has_body = q.bytes != nullptr || q.fd >= 0;
    const std::uint64_t body_size = q.bytes != nullptr ? q.bytes->size() : q.length;
    if (q.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (q.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
    } else if (q.method == "POST") {
      // Small in-memory bodies only (multipart create and complete): curl hashes them.
      const std::string* body = has_body ? q.bytes : nullptr;
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(body != nullptr ? body->size() : 0));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != nullptr ? body->data() : "");
      add("Content-Type: application/xml");
    } else if (q.method == "DELETE") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    const CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
      release(std::move(handle));
      return true;
    }
    error = !t.local_error.empty() ? t.local_error : curl_easy_strerror(rc);
    // A failed handle may hold a broken connection: drop it rather than pool it.
    return false;
  }

  Object object_of(const std::string& key, Response r) const {
    Object obj;
    const auto len = r.headers.find("content-length");
    if (r.file) {
      obj.size = r.file_size;
    } else {
      obj.size = r.body.size();
    }
    if (len != r.headers.end() && len->second != std::to_string(obj.size)) {
      fail("GET " + keys::printable(key) + ": body of " + std::to_string(obj.size) +
           " bytes, Content-Length " + len->second);
    }
    const auto lm = r.headers.find("last-modified");
    if (lm != r.headers.end()) {
      const time_t t = curl_getdate(lm->second.c_str(), nullptr);
      if (t > 0) obj.mtime_unix = t;
    }
    const auto et = r.headers.find("etag");
    obj.etag = etag_of(key, et == r.headers.end() ? std::string() : et->second, obj.size);
    if (r.file) {
      obj.body = std::move(r.file);
    } else {
      obj.body = std::make_shared<const std::string>(std::move(r.body));
    }
    return obj;
  }

  // Another Object over the same bytes: a dup of the spool file, or the shared string.
  static Object copy_of(const Object& o) {
    Object c;
    c.size = o.size;
    c.mtime_unix = o.mtime_unix;
    c.etag = o.etag;
    if (const auto* fd = std::get_if<UniqueFd>(&o.body)) {
      UniqueFd dup(::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0));
      if (!dup) fail("dup spool file: " + std::generic_category().message(errno));
      c.body = std::move(dup);
    } else {
      c.body = std::get<std::shared_ptr<const std::string>>(o.body);
    }
    return c;
  }

  // The server's ETag (an MD5, or "<md5>-<parts>") made distinct per key, since two keys may
  // hold the same bytes: '"' <server etag> '-' <key hash> '"'.
  static std::string etag_of(std::string_view key, std::string_view server, std::uint64_t size) {
    std::string out = "\"";
    for (const char c : server) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') out += c;
    }
    if (out.size() == 1) out += std::to_string(size);
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
    for (const char c : key) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ULL;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    out += '-';
    for (int shift = 60; shift >= 0; shift -= 4) out += k_hex[(hash >> shift) & 0xf];
    out += '"';
    return out;
  }

  // ---- writes ----

  bool head_exists(const std::string& key) {
    Request q;
    q.method = "HEAD";
    q.path = object_path(key);
    q.what = "HEAD " + keys::printable(key);
    const Response r = perform(q);
    if (r.status == 200) return true;
    if (r.status == 404) return false;
    fail(q.what + ": " + describe(r));
  }

  // PUT of one object. true: created; false: 412 (it existed). Throws otherwise.
  bool put_single(const std::string& key, int fd, std::uint64_t size, bool conditional) {
    Request q;
    q.method = "PUT";
    q.path = object_path(key);
    q.fd = fd;
    q.length = size;
    if (conditional) q.headers.emplace_back("If-None-Match: *");
    q.what = "PUT " + keys::printable(key);
    const Response r = perform(q);
    if (r.status == 200) return true;
    if (r.status == 412) return false;
    fail(q.what + ": " + describe(r));
  }

  bool put_multipart(const std::string& key, int fd, std::uint64_t size, bool conditional) {
    const std::string what = keys::printable(key);
    Request create;
    create.method = "POST";
    create.path = object_path(key);
    create.query = query_of({{"uploads", ""}});
    create.what = "CreateMultipartUpload " + what;
    const Response cr = perform(create);
    if (cr.status != 200) fail(create.what + ": " + describe(cr));
    pugi::xml_document doc;
    if (!doc.load_buffer(cr.body.data(), cr.body.size())) {
      fail(create.what + ": unreadable answer");
    }
    const std::string upload_id =
        doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (upload_id.empty()) fail(create.what + ": no UploadId in the answer");

    try {
      std::string complete = "<CompleteMultipartUpload>";
      int part = 1;
      for (std::uint64_t off = 0; off < size; off += m_o.part_size, ++part) {
        Request up;
        up.method = "PUT";
        up.path = object_path(key);
        up.query = query_of({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}});
        up.fd = fd;
        up.offset = off;
        up.length = std::min(m_o.part_size, size - off);
        up.what = "UploadPart " + std::to_string(part) + " of " + what;
        const Response ur = perform(up);
        if (ur.status != 200) fail(up.what + ": " + describe(ur));
        const auto et = ur.headers.find("etag");
        if (et == ur.headers.end()) fail(up.what + ": no ETag in the answer");
        complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                    xml_escape(et->second) + "</ETag></Part>";
      }
      complete += "</CompleteMultipartUpload>";

      Request done;
      done.method = "POST";
      done.path = object_path(key);
      done.query = query_of({{"uploadId", upload_id}});
      done.bytes = &complete;
      if (conditional) done.headers.emplace_back("If-None-Match: *");
      done.what = "CompleteMultipartUpload " + what;
      const Response dr = perform(done);
      if (dr.status == 412) {
        abort_upload(key, upload_id);
        return false;
      }
      // CompleteMultipartUpload may answer 200 with an <Error> document in the body.
      const S3Error e = parse_error(dr.body);
      if (dr.status != 200 || !e.code.empty()) {
        if (e.code == "PreconditionFailed") {
          abort_upload(key, upload_id);
          return false;
        }
        // A retried completion whose first attempt did complete (the answer was lost): the
        // upload is gone and the key holds bytes, ours or a racing writer's.
        if (e.code == "NoSuchUpload" && head_exists(key)) return false;
        fail(done.what + ": " + describe(dr));
      }
      return true;
    } catch (const StoreError&) {
      abort_upload(key, upload_id);
      throw;
    }
  }

  void abort_upload(const std::string& key, const std::string& upload_id) noexcept {
    try {
      Request q;
      q.method = "DELETE";
      q.path = object_path(key);
      q.query = query_of({{"uploadId", upload_id}});
      q.what = "AbortMultipartUpload " + keys::printable(key);
      (void)perform(q);
    } catch (const StoreError&) {
      // Best effort: a bucket lifecycle rule for incomplete uploads collects what is left.
    }
  }

  static std::string xml_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        default:
          out += c;
      }
    }
    return out;
  }

  // ---- listings ----

  // Every key under "<prefix><m>/@v/" (one level) ending in ".info", as versions. Paged.
  std::vector<std::string> list_versions(const std::string& module) {
    const std::string dir = m_o.prefix + module + "/@v/";
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    list_keys(dir, true, "LIST " + keys::printable(module), [&](std::string_view k) {
      const std::string_view name = k.substr(dir.size());
      if (name.size() <= ext.size() || !name.ends_with(ext)) return;
      out.emplace_back(name.substr(0, name.size() - ext.size()));
    });
    return out;
  }

  // Calls `each` with every key starting with `prefix` (only one level below it when
  // `one_level`), page by page (ListObjectsV2).
  void list_keys(const std::string& prefix, bool one_level, const std::string& what,
                 const std::function<void(std::string_view)>& each) {
    std::string token;
    for (int page = 1;; ++page) {
      std::map<std::string, std::string> params = {
          {"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(m_o.max_keys)}};
      if (one_level) params["delimiter"] = "/";
      if (!token.empty()) params["continuation-token"] = token;
      Request q;
      q.method = "GET";
      q.path = m_bucket_path.empty() ? "/" : m_bucket_path;
      q.query = query_of(std::move(params));
      q.what = what + " (page " + std::to_string(page) + ")";
      const Response r = perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      pugi::xml_document doc;
      if (!doc.load_buffer(r.body.data(), r.body.size())) fail(q.what + ": unreadable answer");
      const pugi::xml_node root = doc.child("ListBucketResult");
      if (!root) fail(q.what + ": unexpected answer");
      for (const pugi::xml_node c : root.children("Contents")) {
        const std::string_view k = c.child_value("Key");
        if (k.starts_with(prefix)) each(k);
      }
      const std::string_view truncated = root.child_value("IsTruncated");
      if (truncated != "true") break;
      token = root.child_value("NextContinuationToken");
      if (token.empty()) fail(q.what + ": truncated listing without a continuation token");
    }
  }

  // Rebuilds "<m>/@v/list" from the .info keys and PUTs it. Serialized per module in this
  // process; against other replicas, re-lists after writing and rewrites while it missed a
  // version (bounded).
  void refresh_list(std::string_view module) {
    const std::lock_guard lock(
        m_list_locks[std::hash<std::string_view>{}(module) % m_list_locks.size()]);
    const std::string m(module);
    const std::string key = keys::list_key(module);
    std::string body = keys::render_list(list_versions(m));
    for (int round = 0; round < 3; ++round) {
      Request q;
      q.method = "PUT";
      q.path = object_path(key);
      q.bytes = &body;
      q.what = "PUT " + keys::printable(key);
      q.headers.emplace_back("Content-Type: text/plain; charset=utf-8");
      const Response r = perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      std::string again = keys::render_list(list_versions(m));
      if (again == body) return;
      body = std::move(again);
    }
  }

  // ---- conditional-write probe ----

  void probe_conditional_writes() {
    std::random_device rd;
    const std::string name = m_o.prefix + ".stoa-probe/" + std::to_string(rd()) +
                             std::to_string(rd()) + std::to_string(::getpid());
    const std::string path = m_bucket_path + "/" + uri_encode(name, true);
    const std::string bytes = "stoa conditional-write probe\n";
    auto put = [&] {
      Request q;
      q.method = "PUT";
      q.path = path;
      q.bytes = &bytes;
      q.headers.emplace_back("If-None-Match: *");
      q.what = "PUT probe " + name;
      return perform(q);
    };
    const Response first = put();
    if (first.status == 200) {
      const Response second = put();
      m_cond_put = second.status == 412;
      if (second.status != 200 && second.status != 412 && second.status != 501) {
        fail(std::string("conditional-write probe: ") + describe(second));
      }
      m_cond_multipart = m_cond_put && probe_multipart(path, name);
    } else if (first.status == 501 || first.status == 400) {
      m_cond_put = m_cond_multipart = false;  // the server refuses the header
    } else {
      fail("write to bucket " + m_o.bucket + " (conditional-write probe): " + describe(first));
    }
    Request del;
    del.method = "DELETE";
    del.path = path;
    del.what = "DELETE probe " + name;
    (void)perform(del);  // a leftover probe object is harmless
  }

  // A one-part multipart upload over the existing probe object: complete must answer 412.
  bool probe_multipart(const std::string& path, const std::string& name) {
    Request create;
    create.method = "POST";
    create.path = path;
    create.query = query_of({{"uploads", ""}});
    create.what = "CreateMultipartUpload probe " + name;
    const Response cr = perform(create);
    if (cr.status != 200) fail("multipart upload probe: " + describe(cr));
    pugi::xml_document doc;
    doc.load_buffer(cr.body.data(), cr.body.size());
    const std::string id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    if (id.empty()) fail("multipart upload probe: no UploadId");
    const std::string bytes = "probe part\n";
    Request up;
    up.method = "PUT";
    up.path = path;
    up.query = query_of({{"partNumber", "1"}, {"uploadId", id}});
    up.bytes = &bytes;
    up.what = "UploadPart probe";
    const Response ur = perform(up);
    const auto et = ur.headers.find("etag");
    bool supported = false;
    if (ur.status == 200 && et != ur.headers.end()) {
      const std::string complete =
          "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
          xml_escape(et->second) + "</ETag></Part></CompleteMultipartUpload>";
      Request done;
      done.method = "POST";
      done.path = path;
      done.query = query_of({{"uploadId", id}});
      done.bytes = &complete;
      done.headers.emplace_back("If-None-Match: *");
      done.what = "CompleteMultipartUpload probe";
      const Response dr = perform(done);
      supported = dr.status == 412 || parse_error(dr.body).code == "PreconditionFailed";
      if (supported || dr.status != 200) {
        Request ab;
        ab.method = "DELETE";
        ab.path = path;
        ab.query = query_of({{"uploadId", id}});
        ab.what = "AbortMultipartUpload probe";
        (void)perform(ab);
      }
    }
    return supported;
  }

  S3Options m_o;
  std::string m_base;         // scheme://host[:port] (with the bucket for virtual hosts)
  std::string m_bucket_path;  // "/<bucket>" (path style) or ""
  std::string m_sigv4;
  bool m_cond_put = true;
  bool m_cond_multipart = true;
  struct ReadFlight {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;  // under `mutex`; `object` and `error` are written before it is set
    std::optional<Object> object;
    std::exception_ptr error;
  };
  std::mutex m_reads_mutex;
  std::unordered_map<std::string, std::shared_ptr<ReadFlight>> m_reads;
  std::mutex m_pool_mutex;
  std::vector<CurlPtr> m_pool;
  std::array<std::mutex, 64> m_list_locks;
};

}  // namespace

std::unique_ptr<Store> make_s3_store(const S3Options& options) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto store = std::make_unique<S3Store>(options);
  store->open();
  return store;
}

namespace {

class S3Redirector final : public Redirector {
 public:
  S3Redirector(const S3Options& o, std::chrono::seconds ttl) : m_store(o), m_ttl(ttl) {}
  std::optional<std::string> locate(const std::string& key) override {
    if (!m_store.exists(key)) return std::nullopt;
    return m_store.presign_get(key, m_ttl);
  }

 private:
  S3Store m_store;  // not opened: only HEADs and signing
  std::chrono::seconds m_ttl;
};

}  // namespace

std::unique_ptr<Redirector> make_s3_redirector(const S3Options& options, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) throw StoreError("s3 store: presigned URL lifetime must be positive");
  return std::make_unique<S3Redirector>(options, ttl);
}

bool s3_uses_conditional_writes(const Store& store) {
  const auto* s3 = dynamic_cast<const S3Store*>(&store);
  return s3 != nullptr && s3->conditional_put();
}

}  // namespace stoa::store
