// The Store contract over Azure Blob Storage (azure.hpp): reads, conditional creates (one
// Put Blob or blocks), the derived "@v/list", listings. Requests go through client.hpp.

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "stoa/store/azure/azure.hpp"
#include "stoa/store/azure/client.hpp"
#include "stoa/store/azure/writes.hpp"
#include "stoa/store/azure/xml.hpp"
#include "stoa/store/keys.hpp"
#include "stoa/store/read_flights.hpp"

namespace stoa::store {

using azure::fail;
using azure::Request;
using azure::Response;

namespace {

namespace fs = std::filesystem;
using fsio::UniqueFd;

class AzureStore final : public Store {
 public:
  bool reads_may_block() const override { return true; }  // every read is a network round trip

  explicit AzureStore(const AzureOptions& o) : m_client(o) {
    if (m_o.block_size < (std::uint64_t{1} << 20) || m_o.block_size > (std::uint64_t{4000} << 20)) {
      fail("block size must be between 1 MiB and 4000 MiB");
    }
    if (m_o.max_results < 1 || m_o.max_results > 5000) fail("max_results must be 1 to 5000");
    if (m_o.spool_dir.empty()) fail("no spool directory");
    std::error_code ec;
    fs::create_directories(m_o.spool_dir, ec);
    if (ec) fail("create spool directory " + m_o.spool_dir.native() + ": " + ec.message());
    // Leftovers of a crash: staged files of interrupted puts (spooled reads have no name).
    for (const auto& entry : fs::directory_iterator(m_o.spool_dir, ec)) {
      if (entry.path().filename().native().starts_with("put-")) fs::remove(entry.path(), ec);
    }
  }

  // Reaches the container. Throws StoreError.
  void open() {
    Request q;
    q.method = "GET";
    q.query = {{"restype", "container"}};
    q.what = "Get Container Properties " + m_o.container;
    const Response r = m_client.perform(q);
    if (r.status == 200) return;
    if (r.status == 404) {
      fail("container " + m_o.container + " does not exist at " + m_o.endpoint + " (" +
           describe(r) + ")");
    }
    if (r.status == 403) {
      fail("access to container " + m_o.container +
           " denied (check the credentials): " + describe(r));
    }
    fail(q.what + ": " + describe(r));
  }

  // Simultaneous gets of one key share one Get Blob (read_flights.hpp); "list" and "@latest",
  // which are replaced, are never shared.
  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) fail("get: invalid key " + keys::printable(key));
    if (key.ends_with("/@v/list") || key.ends_with("/@latest")) return get_once(key);
    return m_reads.get(key, [this](const std::string& k) { return get_once(k); });
  }

  std::optional<Object> get_once(const std::string& key) {
    Request q;
    q.method = "GET";
    q.blob = m_client.blob_of(key);
    q.spool_over = m_o.inline_max == 0 ? 1 : m_o.inline_max;
    q.what = "Get Blob " + keys::printable(key);
    Response r = m_client.perform(q);
    // Only the blob's own absence is absence: a missing container (ContainerNotFound), a
    // proxy's 404 or any other 404 is a failure.
    if (r.status == 404 && r.error_code() == "BlobNotFound") return std::nullopt;
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
    const bool committed = size > m_o.block_size
                               ? azure::put_blocks(m_client, key, staged.fd(), size)
                               : azure::put_blob(m_client, key, staged.fd(), size);
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
    list_blobs(m_o.prefix, false, "List Blobs (all modules)", [&](std::string_view name) {
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
    list_blobs(dir, true, "List Blobs " + keys::printable(escaped_module),
               [&](std::string_view name) {
                 if (name.size() > dir.size()) out.emplace_back(name.substr(dir.size()));
               });
    return out;
  }

 private:
  Object object_of(const std::string& key, Response r) const {
    Object obj;
    obj.size = r.file ? r.file_size : r.body.size();
    const std::string* len = r.header("content-length");
    if (len != nullptr && *len != std::to_string(obj.size)) {
      fail("Get Blob " + keys::printable(key) + ": body of " + std::to_string(obj.size) +
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

  // All bytes of an object get() returned (in memory or spooled to a file).
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

  // ---- listings ----

  // Every blob directly under "<prefix><m>/@v/" ending in ".info", as versions. Paged.
  std::vector<std::string> list_versions(const std::string& module) {
    const std::string dir = m_o.prefix + module + "/@v/";
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    list_blobs(dir, true, "List Blobs " + keys::printable(module), [&](std::string_view name) {
      const std::string_view file = name.substr(dir.size());
      if (file.size() <= ext.size() || !file.ends_with(ext)) return;
      out.emplace_back(file.substr(0, file.size() - ext.size()));
    });
    return out;
  }

  // Calls `each` with the name of every blob starting with `prefix` (only those directly below
  // it when `one_level`: the service folds deeper ones into BlobPrefix entries), page by page.
  void list_blobs(const std::string& prefix, bool one_level, const std::string& what,
                  const std::function<void(std::string_view)>& each) {
    std::string marker;
    for (int page = 1;; ++page) {
      Request q;
      q.method = "GET";
      q.query = {{"restype", "container"},
                 {"comp", "list"},
                 {"prefix", prefix},
                 {"maxresults", std::to_string(m_o.max_results)}};
      if (one_level) q.query.emplace_back("delimiter", "/");
      if (!marker.empty()) q.query.emplace_back("marker", marker);
      q.what = what + " (page " + std::to_string(page) + ")";
      const Response r = m_client.perform(q);
      if (r.status != 200) fail(q.what + ": " + describe(r));
      const std::optional<azure::xml::ListPage> listed = azure::xml::parse_list_page(r.body);
      if (!listed) fail(q.what + ": unreadable answer");
      for (const std::string& name : listed->names) {
        if (name.starts_with(prefix)) each(name);
      }
      if (listed->next_marker.empty()) break;
      if (listed->next_marker == marker) fail(q.what + ": the listing does not advance");
      marker = listed->next_marker;
    }
  }

  // Rebuilds "<m>/@v/list" from the .info blobs and writes it. Serialized per module in this
  // process; against other replicas, re-lists after writing and rewrites while it missed a
  // version (bounded).
  void refresh_list(std::string_view module) {
    const std::lock_guard lock(
        m_list_locks[std::hash<std::string_view>{}(module) % m_list_locks.size()]);
    const std::string m(module);
    const std::string key = keys::list_key(module);
    std::string body = keys::render_list(list_versions(m));
    for (int round = 0; round < 3; ++round) {
      azure::replace_blob(m_client, key, body);
      std::string again = keys::render_list(list_versions(m));
      if (again == body) return;
      body = std::move(again);
    }
  }

  azure::Client m_client;
  const AzureOptions& m_o = m_client.options();
  ReadFlights m_reads;
  std::array<std::mutex, 64> m_list_locks;
};

}  // namespace

std::unique_ptr<Store> make_azure_store(const AzureOptions& options) {
  auto store = std::make_unique<AzureStore>(options);
  store->open();
  return store;
}

}  // namespace stoa::store
