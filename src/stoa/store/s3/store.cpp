// The Store contract over S3 (s3.hpp): shared reads, conditional creates (single PUT or
// multipart), the derived "@v/list", listings, and the conditional-write probe. Requests go
// through client.hpp.

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "stoa/store/keys.hpp"
#include "stoa/store/read_flights.hpp"
#include "stoa/store/s3/client.hpp"
#include "stoa/store/s3/s3.hpp"
#include "stoa/store/s3/sigv4.hpp"
#include "stoa/store/s3/writes.hpp"
#include "stoa/store/s3/xml.hpp"

namespace stoa::store {

using s3::fail;
using s3::Request;
using s3::Response;
namespace sigv4 = s3::sigv4;
namespace xml = s3::xml;

namespace {

namespace fs = std::filesystem;
using fsio::UniqueFd;

class S3Store final : public Store {
 public:
  bool reads_may_block() const override { return true; }  // every read is a network round trip
  explicit S3Store(const S3Options& o) : m_client(o) {
    if (m_o.part_size < (std::uint64_t{5} << 20)) fail("part size must be at least 5 MiB");
    if (m_o.spool_dir.empty()) fail("no spool directory");
    std::error_code ec;
    fs::create_directories(m_o.spool_dir, ec);
    if (ec) fail("create spool directory " + m_o.spool_dir.native() + ": " + ec.message());
    // Leftovers of a crash: staged files of interrupted puts (spooled reads have no name).
    for (const auto& entry : fs::directory_iterator(m_o.spool_dir, ec)) {
      if (entry.path().filename().native().starts_with("put-")) fs::remove(entry.path(), ec);
    }
  }

  // Reaches the bucket and settles conditional writes. Throws StoreError.
  void open() {
    Request head;
    head.method = "HEAD";
    head.path = m_client.bucket_path().empty() ? "/" : m_client.bucket_path();
    head.what = "HEAD bucket " + m_o.bucket;
    const Response r = m_client.perform(head);
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
      case ConditionalWrite::automatic: {
        const s3::ConditionalWrites probed = s3::probe_conditional_writes(m_client);
        m_cond_put = probed.put;
        m_cond_multipart = probed.multipart;
        break;
      }
    }
  }

  bool conditional_put() const { return m_cond_put; }

  // Concurrent gets of one stored key share one GET (and one spool file): a zip that 100
  // clients ask for at once is transferred and spooled once, not 100 times. Only found objects
  // are shared: a caller that joined a flight which found nothing asks again itself, so that a
  // get started after a put returned always sees it. "list" and "@latest" are never shared.
  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) fail("get: invalid key " + keys::printable(key));
    if (key.ends_with("/@v/list") || key.ends_with("/@latest")) return get_once(key);
    return m_reads.get(key, [this](const std::string& k) { return get_once(k); });
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
    q.path = m_client.object_path(key);
    q.spool_over = m_o.inline_max == 0 ? 1 : m_o.inline_max;
    q.what = "GET " + keys::printable(key);
    Response r = m_client.perform(q);
    if (r.status == 404) {
      const xml::ErrorDocument e = xml::parse_error(r.body);
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
    if (!conditional && m_client.exists(key)) return false;
    const bool committed = multipart
                               ? s3::put_multipart(m_client, key, staged.fd(), size, conditional)
                               : s3::put_object(m_client, key, staged.fd(), size, conditional);
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
  Object object_of(const std::string& key, Response r) const {
    Object obj;
    const std::string* len = r.header("content-length");
    if (r.file) {
      obj.size = r.file_size;
    } else {
      obj.size = r.body.size();
    }
    if (len != nullptr && *len != std::to_string(obj.size)) {
      fail("GET " + keys::printable(key) + ": body of " + std::to_string(obj.size) +
           " bytes, Content-Length " + *len);
    }
    if (const std::string* lm = r.header("last-modified")) {
      const time_t t = curl_getdate(lm->c_str(), nullptr);
      if (t > 0) obj.mtime_unix = t;
    }
    const std::string* et = r.header("etag");
    obj.etag = keys::etag_of_server(key, et == nullptr ? std::string_view() : *et, obj.size);
    if (r.file) {
      obj.body = std::move(r.file);
    } else {
      obj.body = std::make_shared<const std::string>(std::move(r.body));
    }
    return obj;
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
      q.path = m_client.bucket_path().empty() ? "/" : m_client.bucket_path();
      q.query = sigv4::canonical_query(params);
      q.what = what + " (page " + std::to_string(page) + ")";
      const Response r = m_client.perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      const std::optional<xml::ListPage> listed = xml::parse_list_page(r.body);
      if (!listed) fail(q.what + ": unreadable answer");
      for (const std::string& k : listed->keys) {
        if (k.starts_with(prefix)) each(k);
      }
      if (!listed->truncated) break;
      token = listed->next_token;
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
      q.path = m_client.object_path(key);
      q.bytes = &body;
      q.what = "PUT " + keys::printable(key);
      q.headers.emplace_back("Content-Type: text/plain; charset=utf-8");
      const Response r = m_client.perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      std::string again = keys::render_list(list_versions(m));
      if (again == body) return;
      body = std::move(again);
    }
  }

  s3::Client m_client;
  const S3Options& m_o = m_client.options();
  bool m_cond_put = true;
  bool m_cond_multipart = true;
  ReadFlights m_reads;  // simultaneous gets of one key share one GET
  std::array<std::mutex, 64> m_list_locks;
};

}  // namespace

std::unique_ptr<Store> make_s3_store(const S3Options& options) {
  auto store = std::make_unique<S3Store>(options);
  store->open();
  return store;
}

bool s3_uses_conditional_writes(const Store& store) {
  const auto* s3 = dynamic_cast<const S3Store*>(&store);
  return s3 != nullptr && s3->conditional_put();
}

}  // namespace stoa::store
