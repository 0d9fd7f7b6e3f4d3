// The Store contract over GCS (gcs.hpp): shared reads, conditional inserts (multipart or
// resumable), the derived "@v/list" and listings. Requests go through client.hpp.

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <array>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "stoa/store/gcs/client.hpp"
#include "stoa/store/gcs/gcs.hpp"
#include "stoa/store/gcs/upload.hpp"
#include "stoa/store/keys.hpp"

namespace stoa::store {

using gcs::fail;
using gcs::Request;
using gcs::Response;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using fsio::UniqueFd;

// One page of objects.list: the names, and the token of the next page ("" on the last).
struct ListPage {
  std::vector<std::string> names;
  std::string next_token;
};

std::optional<ListPage> parse_list_page(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  ListPage page;
  if (const json::value* items = o.if_contains("items")) {
    if (!items->is_array()) return std::nullopt;
    for (const json::value& item : items->as_array()) {
      const json::value* name = item.is_object() ? item.as_object().if_contains("name") : nullptr;
      if (name == nullptr || !name->is_string()) return std::nullopt;
      page.names.emplace_back(name->as_string());
    }
  }
  if (const json::value* token = o.if_contains("nextPageToken")) {
    if (!token->is_string()) return std::nullopt;
    page.next_token = std::string(token->as_string());
  }
  return page;
}

class GcsStore final : public Store {
 public:
  bool reads_may_block() const override { return true; }  // every read is a network round trip
  explicit GcsStore(const GcsOptions& o) : m_client(o) {
    if (m_o.chunk_size == 0 || m_o.chunk_size % (std::uint64_t{256} << 10) != 0) {
      fail("chunk size must be a positive multiple of 256 KiB");
    }
    if (m_o.page_size < 1) fail("page size must be positive");
    if (m_o.spool_dir.empty()) fail("no spool directory");
    std::error_code ec;
    fs::create_directories(m_o.spool_dir, ec);
    if (ec) fail("create spool directory " + m_o.spool_dir.native() + ": " + ec.message());
    // Leftovers of a crash: staged files of interrupted puts (spooled reads have no name).
    for (const auto& entry : fs::directory_iterator(m_o.spool_dir, ec)) {
      if (entry.path().filename().native().starts_with("put-")) fs::remove(entry.path(), ec);
    }
  }

  // Obtains a token and reaches the bucket with a listing of one name. Throws StoreError.
  void open() {
    Request q;
    q.method = "GET";
    q.target = m_client.objects_path();
    q.query = "maxResults=1&fields=nextPageToken";
    q.what = "list bucket " + m_o.bucket;
    const Response r = m_client.perform(q);
    if (r.status == 404) fail("bucket " + m_o.bucket + " does not exist at " + m_o.endpoint);
    if (r.status == 401 || r.status == 403) {
      fail("access to bucket " + m_o.bucket + " denied (check the credentials): " + describe(r));
    }
    if (r.status != 200) fail(q.what + ": " + describe(r));
  }

  // Concurrent gets of one stored key share one download (and one spool file); see the S3
  // store. Only found objects are shared; "list" and "@latest" are never shared.
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
    const bool committed =
        size > m_o.resumable_over
            ? gcs::insert_resumable(m_client, key, staged.fd(), size)
            : gcs::insert_multipart(m_client, key, {nullptr, staged.fd(), size}, true);
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
    list_names(m_o.prefix, false, "list all modules", [&](std::string_view name) {
      const std::string_view key = name.substr(m_o.prefix.size());
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
    list_names(dir, true, "list " + keys::printable(escaped_module), [&](std::string_view name) {
      if (name.size() > dir.size()) out.emplace_back(name.substr(dir.size()));
    });
    return out;
  }

 private:
  std::optional<Object> get_once(const std::string& key) {
    Request q;
    q.method = "GET";
    q.target = m_client.object_path(key);
    q.query = "alt=media";
    q.spool_over = m_o.inline_max == 0 ? 1 : m_o.inline_max;
    q.what = "GET " + keys::printable(key);
    Response r = m_client.perform(q);
    if (gcs::is_no_such_object(r)) return std::nullopt;
    if (r.status != 200) fail(q.what + ": " + describe(r));
    return object_of(key, std::move(r));
  }

  // All bytes of an object get_once() returned (in memory or spooled to a file).
  static std::string read_body(const Object& obj) {
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

  static Object object_of(const std::string& key, Response r) {
    Object obj;
    obj.size = r.file ? r.file_size : r.body.size();
    const std::string* len = r.header("content-length");
    if (len != nullptr && *len != std::to_string(obj.size)) {
      fail("GET " + keys::printable(key) + ": body of " + std::to_string(obj.size) +
           " bytes, Content-Length " + *len);
    }
    // Objects are inserted without a content encoding, so nothing is transcoded on the way;
    // one that has one was not written by stoa.
    if (const std::string* ce = r.header("content-encoding"); ce != nullptr && *ce != "identity") {
      fail("GET " + keys::printable(key) + ": stored with Content-Encoding " + ce->substr(0, 40));
    }
    if (const std::string* lm = r.header("last-modified")) {
      const time_t t = curl_getdate(lm->c_str(), nullptr);
      if (t > 0) obj.mtime_unix = t;
    }
    // The generation names one write of one object name: the list's changes with each rewrite.
    const std::string* generation = r.header("x-goog-generation");
    const std::string* et = r.header("etag");
    obj.etag = etag_of(key,
                       generation != nullptr ? *generation
                       : et != nullptr       ? *et
                                             : "",
                       obj.size);
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

  // '"' g<generation> '-' <key hash> '"': two keys may share a generation number.
  static std::string etag_of(std::string_view key, std::string_view server, std::uint64_t size) {
    std::string out = "\"g";
    for (const char c : server) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-') out += c;
    }
    if (out.size() == 2) out += std::to_string(size);
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

  // ---- listings ----

  // Every name "<prefix><m>/@v/<v>.info" (one level), as versions. Paged.
  std::vector<std::string> list_versions(const std::string& module) {
    const std::string dir = m_o.prefix + module + "/@v/";
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    list_names(dir, true, "list " + keys::printable(module), [&](std::string_view name) {
      const std::string_view rest = name.substr(dir.size());
      if (rest.size() <= ext.size() || !rest.ends_with(ext)) return;
      out.emplace_back(rest.substr(0, rest.size() - ext.size()));
    });
    return out;
  }

  // Calls `each` with every object name starting with `prefix` (only one level below it when
  // `one_level`), page by page.
  void list_names(const std::string& prefix, bool one_level, const std::string& what,
                  const std::function<void(std::string_view)>& each) {
    std::string token;
    for (int page = 1;; ++page) {
      Request q;
      q.method = "GET";
      q.target = m_client.objects_path();
      q.query = "prefix=" + gcs::encode(prefix) + "&maxResults=" + std::to_string(m_o.page_size) +
                "&fields=" + gcs::encode("items(name),nextPageToken");
      if (one_level) q.query += "&delimiter=%2F";
      if (!token.empty()) q.query += "&pageToken=" + gcs::encode(token);
      q.what = what + " (page " + std::to_string(page) + ")";
      const Response r = m_client.perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      const std::optional<ListPage> listed = parse_list_page(r.body);
      if (!listed) fail(q.what + ": unreadable answer");
      for (const std::string& name : listed->names) {
        if (name.starts_with(prefix) &&
            (!one_level || name.find('/', prefix.size()) == std::string::npos)) {
          each(name);
        }
      }
      if (listed->next_token.empty()) break;
      if (listed->next_token == token) fail(q.what + ": the same page token twice");
      token = listed->next_token;
    }
  }

  // Rebuilds "<m>/@v/list" from the .info names and writes it. Serialized per module in this
  // process; against other replicas, re-lists after writing and rewrites while it missed a
  // version (bounded).
  void refresh_list(std::string_view module) {
    const std::lock_guard lock(
        m_list_locks[std::hash<std::string_view>{}(module) % m_list_locks.size()]);
    const std::string m(module);
    const std::string key = keys::list_key(module);
    std::string body = keys::render_list(list_versions(m));
    for (int round = 0; round < 3; ++round) {
      (void)gcs::insert_multipart(m_client, key, {&body, -1, body.size()}, false);
      std::string again = keys::render_list(list_versions(m));
      if (again == body) return;
      body = std::move(again);
    }
  }

  gcs::Client m_client;
  const GcsOptions& m_o = m_client.options();
  struct ReadFlight {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;  // under `mutex`; `object` and `error` are written before it is set
    std::optional<Object> object;
    std::exception_ptr error;
  };
  std::mutex m_reads_mutex;
  std::unordered_map<std::string, std::shared_ptr<ReadFlight>> m_reads;
  std::array<std::mutex, 64> m_list_locks;
};

}  // namespace

std::unique_ptr<Store> make_gcs_store(const GcsOptions& options) {
  auto store = std::make_unique<GcsStore>(options);
  store->open();
  return store;
}

}  // namespace stoa::store
