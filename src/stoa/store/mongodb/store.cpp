// The Store contract over MongoDB (mongodb.hpp): metadata documents keyed by the store key,
// bodies inline or in GridFS, the derived "@v/list", listings through cursors. The only file
// that includes libmongoc.

#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "stoa/store/keys.hpp"
#include "stoa/store/mongodb/mongodb.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::store {
namespace {

namespace fs = std::filesystem;
using fsio::UniqueFd;

constexpr std::size_t k_io_chunk = std::size_t{1} << 20;  // bytes per read of a staged file
constexpr std::uint32_t k_duplicate_key = 11000;
// GridFS chunks per reply when reading a body back: 16 of the default 255 KiB, 4 MiB.
constexpr std::int32_t k_chunks_per_batch = 16;

[[noreturn]] void fail(const std::string& message) { throw StoreError("mongodb: " + message); }

template <auto Destroy>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Destroy(p);
  }
};
using Uri = std::unique_ptr<mongoc_uri_t, Deleter<mongoc_uri_destroy>>;
using Pool = std::unique_ptr<mongoc_client_pool_t, Deleter<mongoc_client_pool_destroy>>;
using Database = std::unique_ptr<mongoc_database_t, Deleter<mongoc_database_destroy>>;
using Collection = std::unique_ptr<mongoc_collection_t, Deleter<mongoc_collection_destroy>>;
using Cursor = std::unique_ptr<mongoc_cursor_t, Deleter<mongoc_cursor_destroy>>;
using Bucket = std::unique_ptr<mongoc_gridfs_bucket_t, Deleter<mongoc_gridfs_bucket_destroy>>;
using Stream = std::unique_ptr<mongoc_stream_t, Deleter<mongoc_stream_destroy>>;

// An owned, initialized bson_t.
class Bson {
 public:
  Bson() { bson_init(&m_b); }
  ~Bson() { bson_destroy(&m_b); }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  bson_t* get() { return &m_b; }
  const bson_t* get() const { return &m_b; }

  Bson& utf8(const char* name, std::string_view v) {
    bson_append_utf8(&m_b, name, -1, v.data(), static_cast<int>(v.size()));
    return *this;
  }
  Bson& int32(const char* name, std::int32_t v) {
    bson_append_int32(&m_b, name, -1, v);
    return *this;
  }
  Bson& int64(const char* name, std::int64_t v) {
    bson_append_int64(&m_b, name, -1, v);
    return *this;
  }
  Bson& boolean(const char* name, bool v) {
    bson_append_bool(&m_b, name, -1, v);
    return *this;
  }
  Bson& oid(const char* name, const bson_oid_t& v) {
    bson_append_oid(&m_b, name, -1, &v);
    return *this;
  }
  Bson& date(const char* name, std::int64_t ms) {
    bson_append_date_time(&m_b, name, -1, ms);
    return *this;
  }
  Bson& binary(const char* name, std::string_view v) {
    bson_append_binary(&m_b, name, -1, BSON_SUBTYPE_BINARY,
                       reinterpret_cast<const std::uint8_t*>(v.data()),
                       static_cast<std::uint32_t>(v.size()));
    return *this;
  }
  Bson& document(const char* name, const Bson& v) {
    bson_append_document(&m_b, name, -1, v.get());
    return *this;
  }
  Bson& array_of(const char* name, const Bson& element) {
    bson_t child;
    bson_append_array_begin(&m_b, name, -1, &child);
    bson_append_document(&child, "0", -1, element.get());
    bson_append_array_end(&m_b, &child);
    return *this;
  }

 private:
  bson_t m_b;
};

// A client of the pool for the length of one call.
class PooledClient {
 public:
  explicit PooledClient(mongoc_client_pool_t* pool)
      : m_pool(pool), m_client(mongoc_client_pool_pop(pool)) {}
  ~PooledClient() { mongoc_client_pool_push(m_pool, m_client); }
  PooledClient(const PooledClient&) = delete;
  PooledClient& operator=(const PooledClient&) = delete;
  mongoc_client_t* get() const { return m_client; }

 private:
  mongoc_client_pool_t* m_pool;
  mongoc_client_t* m_client;
};

std::string hex_of(const bson_oid_t& oid) {
  char buf[25];
  bson_oid_to_string(&oid, buf);
  return buf;
}

bson_value_t value_of(const bson_oid_t& oid) {
  bson_value_t v{};
  v.value_type = BSON_TYPE_OID;
  v.value.v_oid = oid;
  return v;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Reads exactly `n` bytes at `offset` of `fd` into `out`. Throws StoreError.
void pread_exact(int fd, std::uint64_t offset, std::size_t n, char* out) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("read staged file: " + std::generic_category().message(errno));
    if (r == 0) fail("read staged file: it shrank while being stored");
    done += static_cast<std::size_t>(r);
  }
}

// The parts of a metadata document get() needs.
struct Meta {
  std::uint64_t size = 0;
  std::int64_t mtime_ms = 0;
  std::string etag;
  std::optional<std::string> data;  // inline body
  std::optional<bson_oid_t> file;   // GridFS body
};

class MongoStore final : public Store {
 public:
  explicit MongoStore(const MongoOptions& o) : m_o(o) {
    static std::once_flag init;
    std::call_once(init, [] {
      mongoc_init();
      // libmongoc's own log is chatty (a warning for every server without endSessions, debug
      // lines of the monitor); every failure reaches stoa as an error it reports itself. Only
      // libmongoc's errors are kept, on stderr.
      mongoc_log_set_handler(
          [](mongoc_log_level_t level, const char* domain, const char* message, void* data) {
            if (level <= MONGOC_LOG_LEVEL_ERROR) {
              mongoc_log_default_handler(level, domain, message, data);
            }
          },
          nullptr);
    });
    if (m_o.uri.empty()) fail("no URI");
    if (m_o.database.empty()) fail("no database name");
    if (m_o.prefix.empty()) fail("no collection prefix");
    if (m_o.spool_dir.empty()) fail("no spool directory");
    if (m_o.page_size < 1) fail("page size must be at least 1");
    m_objects_name = m_o.prefix + ".objects";
    bson_error_t error{};
    Uri uri(mongoc_uri_new_with_error(m_o.uri.c_str(), &error));
    if (!uri) fail("bad URI " + text::redact_credentials(m_o.uri) + ": " + scrub(error));
    auto set_default = [&](const char* option, std::chrono::milliseconds ms) {
      if (ms.count() <= 0 || mongoc_uri_has_option(uri.get(), option)) return;
      const auto v = static_cast<std::int32_t>(std::min<std::int64_t>(ms.count(), INT32_MAX));
      mongoc_uri_set_option_as_int32(uri.get(), option, v);
    };
    set_default(MONGOC_URI_CONNECTTIMEOUTMS, m_o.connect_timeout);
    set_default(MONGOC_URI_SERVERSELECTIONTIMEOUTMS, m_o.connect_timeout);
    set_default(MONGOC_URI_SOCKETTIMEOUTMS, m_o.stall_timeout);
    m_pool.reset(mongoc_client_pool_new(uri.get()));
    if (!m_pool) fail("cannot use URI " + text::redact_credentials(m_o.uri));
    mongoc_client_pool_set_error_api(m_pool.get(), MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(m_pool.get(), "stoa");

    std::error_code ec;
    fs::create_directories(m_o.spool_dir, ec);
    if (ec) fail("create spool directory " + m_o.spool_dir.native() + ": " + ec.message());
    // Leftovers of a crash: staged files of interrupted puts (spooled reads have no name).
    for (const auto& entry : fs::directory_iterator(m_o.spool_dir, ec)) {
      if (entry.path().filename().native().starts_with("put-")) fs::remove(entry.path(), ec);
    }
  }

  // Reaches the server and creates the index of the listings. Throws StoreError.
  void open() {
    const PooledClient client(m_pool.get());
    bson_error_t error{};
    Bson ping;
    ping.int32("ping", 1);
    if (!mongoc_client_command_simple(client.get(), "admin", ping.get(), nullptr, nullptr,
                                      &error)) {
      fail("cannot reach " + text::redact_credentials(m_o.uri) + ": " + scrub(error));
    }
    Bson key;
    key.int32("m", 1);
    Bson index;
    index.document("key", key).utf8("name", "m_1");
    Bson create;
    create.utf8("createIndexes", m_objects_name).array_of("indexes", index);
    const Database db(mongoc_client_get_database(client.get(), m_o.database.c_str()));
    if (!mongoc_database_write_command_with_opts(db.get(), create.get(), nullptr, nullptr,
                                                 &error)) {
      fail("create the index of " + m_o.database + "." + m_objects_name + ": " + scrub(error));
    }
  }

  bool reads_may_block() const override { return true; }  // every read is a network round trip

  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) fail("get: invalid key " + keys::printable(key));
    const PooledClient client(m_pool.get());
    std::optional<Meta> meta = find_meta(client, key, "get " + keys::printable(key));
    if (!meta) return std::nullopt;
    Object obj;
    obj.size = meta->size;
    obj.mtime_unix = meta->mtime_ms / 1000;
    obj.etag = "\"" + meta->etag + "\"";
    if (meta->data) {
      obj.body = std::make_shared<const std::string>(std::move(*meta->data));
    } else {
      obj.body = download(client, *meta->file, meta->size, key);
    }
    return obj;
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
    const bool committed = size <= m_o.inline_max ? put_inline(key, staged.fd(), size)
                                                  : put_gridfs(key, staged.fd(), size);
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
    std::optional<std::string> stored;
    {
      const PooledClient client(m_pool.get());
      const std::string key = keys::list_key(escaped_module);
      if (auto meta = find_meta(client, key, "repair " + keys::printable(key))) {
        if (!meta->data) fail("repair " + keys::printable(key) + ": the list is not inline");
        stored = std::move(meta->data);
      }
    }
    if (stored ? *stored == body : body.empty()) return false;
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
    Bson exists;
    exists.boolean("$exists", true);
    Bson filter;
    filter.document("m", exists);
    for_each(filter, "m", "list all modules", [&](std::string_view m) {
      if (keys::is_valid_module(m)) out.emplace(m);
    });
    return {out.begin(), out.end()};
  }

  std::vector<std::string> files(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail("files: invalid module " + keys::printable(escaped_module));
    }
    std::vector<std::string> out;
    Bson filter;
    filter.utf8("m", escaped_module);
    for_each(filter, "n", "list " + keys::printable(escaped_module),
             [&](std::string_view n) { out.emplace_back(n); });
    return out;
  }

 private:
  // libmongoc's message, with anything of the URI's userinfo in it hidden.
  std::string scrub(const bson_error_t& error) const {
    return text::scrub_userinfo(error.message, m_o.uri) + " (" + std::to_string(error.domain) +
           "." + std::to_string(error.code) + ")";
  }

  Collection objects(const PooledClient& client) const {
    return Collection(
        mongoc_client_get_collection(client.get(), m_o.database.c_str(), m_objects_name.c_str()));
  }

  Bucket bucket(const Database& db) const {
    Bson opts;
    opts.utf8("bucketName", m_o.prefix);
    bson_error_t error{};
    Bucket b(mongoc_gridfs_bucket_new(db.get(), opts.get(), nullptr, &error));
    if (!b) fail("GridFS bucket " + m_o.prefix + ": " + scrub(error));
    return b;
  }

  // The metadata document of `key`, or nullopt when there is none.
  std::optional<Meta> find_meta(const PooledClient& client, const std::string& key,
                                const std::string& what) const {
    const Collection coll = objects(client);
    Bson filter;
    filter.utf8("_id", key);
    Bson opts;
    opts.int64("limit", 1);
    const Cursor cursor(
        mongoc_collection_find_with_opts(coll.get(), filter.get(), opts.get(), nullptr));
    const bson_t* doc = nullptr;
    const bool found = mongoc_cursor_next(cursor.get(), &doc);
    bson_error_t error{};
    if (mongoc_cursor_error(cursor.get(), &error)) fail(what + ": " + scrub(error));
    if (!found) return std::nullopt;
    return parse_meta(doc, what);
  }

  static Meta parse_meta(const bson_t* doc, const std::string& what) {
    Meta m;
    bson_iter_t it;
    auto bad = [&](const char* field) -> void {
      fail(what + ": malformed metadata document (" + field + ")");
    };
    if (!bson_iter_init_find(&it, doc, "size") || !BSON_ITER_HOLDS_INT64(&it) ||
        bson_iter_int64(&it) < 0) {
      bad("size");
    }
    m.size = static_cast<std::uint64_t>(bson_iter_int64(&it));
    if (!bson_iter_init_find(&it, doc, "mtime") || !BSON_ITER_HOLDS_DATE_TIME(&it)) bad("mtime");
    m.mtime_ms = bson_iter_date_time(&it);
    if (!bson_iter_init_find(&it, doc, "etag") || !BSON_ITER_HOLDS_UTF8(&it)) bad("etag");
    std::uint32_t len = 0;
    const char* etag = bson_iter_utf8(&it, &len);
    m.etag.assign(etag, len);
    if (m.etag.empty() || m.etag.find('"') != std::string::npos) bad("etag");
    if (bson_iter_init_find(&it, doc, "data") && BSON_ITER_HOLDS_BINARY(&it)) {
      bson_subtype_t subtype{};
      const std::uint8_t* data = nullptr;
      bson_iter_binary(&it, &subtype, &len, &data);
      if (len != m.size) bad("data: not size bytes");
      m.data.emplace(reinterpret_cast<const char*>(data), len);
    } else if (bson_iter_init_find(&it, doc, "file") && BSON_ITER_HOLDS_OID(&it)) {
      m.file = *bson_iter_oid(&it);
    } else {
      bad("neither data nor file");
    }
    return m;
  }

  // Streams the chunks of the GridFS file `id` into an unlinked spool file and returns it.
  // The chunks are read with a cursor of our own rather than libmongoc's download stream, whose
  // cursor has no batch size: a server that answers a getMore with every remaining chunk
  // (FerretDB does) would send a 500 MiB zip as one reply, over the wire protocol's limit.
  UniqueFd download(const PooledClient& client, const bson_oid_t& id, std::uint64_t size,
                    const std::string& key) const {
    const std::string what = "get " + keys::printable(key) + " (GridFS file " + hex_of(id) + ")";
    UniqueFd file(::open(m_o.spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!file) {
      fail("spool file in " + m_o.spool_dir.native() + ": " +
           std::generic_category().message(errno));
    }
    const std::string chunks_name = m_o.prefix + ".chunks";
    const Collection chunks(
        mongoc_client_get_collection(client.get(), m_o.database.c_str(), chunks_name.c_str()));
    Bson filter;
    filter.oid("files_id", id);
    Bson sort;
    sort.int32("n", 1);
    Bson opts;
    opts.document("sort", sort).int32("batchSize", k_chunks_per_batch);
    const Cursor cursor(
        mongoc_collection_find_with_opts(chunks.get(), filter.get(), opts.get(), nullptr));
    std::uint64_t done = 0;
    std::int64_t next = 0;
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      bson_iter_t it;
      if (!bson_iter_init_find(&it, doc, "n") ||
          !(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)) ||
          bson_iter_as_int64(&it) != next) {
        fail(what + ": chunk " + std::to_string(next) + " is missing");
      }
      ++next;
      if (!bson_iter_init_find(&it, doc, "data") || !BSON_ITER_HOLDS_BINARY(&it)) {
        fail(what + ": chunk " + std::to_string(next - 1) + " has no data");
      }
      bson_subtype_t subtype{};
      std::uint32_t len = 0;
      const std::uint8_t* data = nullptr;
      bson_iter_binary(&it, &subtype, &len, &data);
      done += len;
      if (done > size) break;
      if (!write_all(file.get(), reinterpret_cast<const char*>(data), len)) {
        fail("write spool file: " + std::generic_category().message(errno));
      }
    }
    bson_error_t error{};
    if (mongoc_cursor_error(cursor.get(), &error)) {
      fail(what + ": " + scrub(error) + " after " + std::to_string(done) + " bytes");
    }
    if (done != size) {
      fail(what + ": " + (done > size ? "more than " : "") + std::to_string(done) +
           " bytes stored, the metadata says " + std::to_string(size));
    }
    return file;
  }

  // Appends the fields of the metadata document of `key`, all but its body, to `doc`.
  static void meta_doc(Bson& doc, const std::string& key, std::uint64_t size,
                       const std::string& etag) {
    doc.utf8("_id", key);
    const auto at = key.rfind("/@v/");
    if (at != std::string::npos && keys::is_valid_module(std::string_view(key).substr(0, at))) {
      doc.utf8("m", std::string_view(key).substr(0, at));
      doc.utf8("n", std::string_view(key).substr(at + 4));
    }
    doc.int64("size", static_cast<std::int64_t>(size));
    doc.date("mtime", now_ms());
    doc.utf8("etag", etag);
  }

  // Inserts `doc` (the metadata of `key`, etag `etag`). true: inserted; false: the key existed
  // with another etag (E11000). A duplicate that carries our own etag is our own insert whose
  // answer was lost and retried: committed. Throws StoreError.
  bool insert_meta(const PooledClient& client, const std::string& key, const Bson& doc,
                   const std::string& etag) const {
    const Collection coll = objects(client);
    bson_error_t error{};
    if (mongoc_collection_insert_one(coll.get(), doc.get(), nullptr, nullptr, &error)) return true;
    const std::string what = "put " + keys::printable(key);
    if (error.code != k_duplicate_key) fail(what + ": " + scrub(error));
    const std::optional<Meta> existing = find_meta(client, key, what);
    if (!existing) fail(what + ": duplicate key, yet no document: " + scrub(error));
    return existing->etag == etag;
  }

  bool put_inline(const std::string& key, int fd, std::uint64_t size) {
    std::string body(static_cast<std::size_t>(size), '\0');
    pread_exact(fd, 0, body.size(), body.data());
    bson_oid_t oid;
    bson_oid_init(&oid, nullptr);
    const std::string etag = hex_of(oid);
    Bson doc;
    meta_doc(doc, key, size, etag);
    doc.binary("data", body);
    const PooledClient client(m_pool.get());
    return insert_meta(client, key, doc, etag);
  }

  bool put_gridfs(const std::string& key, int fd, std::uint64_t size) {
    const std::string what = "put " + keys::printable(key);
    const PooledClient client(m_pool.get());
    // A key that is there already needs no upload.
    if (find_meta(client, key, what)) return false;
    bson_oid_t oid;
    bson_oid_init(&oid, nullptr);
    const std::string etag = hex_of(oid);
    upload(client, oid, key, fd, size);
    Bson doc;
    meta_doc(doc, key, size, etag);
    doc.oid("file", oid);
    // When the insert throws, whether it happened is unknown: the upload stays (an unreferenced
    // file is never served; a referenced one must not be deleted).
    const bool committed = insert_meta(client, key, doc, etag);
    if (!committed) remove_file(client, oid);
    return committed;
  }

  // Uploads `size` bytes of `fd` as the GridFS file `oid`, aborting (deleting its chunks) on
  // failure. Throws StoreError.
  void upload(const PooledClient& client, const bson_oid_t& oid, const std::string& key, int fd,
              std::uint64_t size) const {
    const std::string what = "put " + keys::printable(key) + " (GridFS upload)";
    const Database db(mongoc_client_get_database(client.get(), m_o.database.c_str()));
    const Bucket b = bucket(db);
    const bson_value_t file_id = value_of(oid);
    bson_error_t error{};
    const Stream stream(mongoc_gridfs_bucket_open_upload_stream_with_id(
        b.get(), &file_id, key.c_str(), nullptr, &error));
    if (!stream) fail(what + ": " + scrub(error));
    std::vector<char> buf(k_io_chunk);
    try {
      for (std::uint64_t off = 0; off < size;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - off));
        pread_exact(fd, off, n, buf.data());
        const ssize_t w = mongoc_stream_write(stream.get(), buf.data(), n, 0);
        if (w != static_cast<ssize_t>(n)) {
          mongoc_gridfs_bucket_stream_error(stream.get(), &error);
          fail(what + ": " + scrub(error));
        }
        off += n;
      }
    } catch (const StoreError&) {
      mongoc_gridfs_bucket_abort_upload(stream.get());
      throw;
    }
    if (mongoc_stream_close(stream.get()) != 0) {
      mongoc_gridfs_bucket_stream_error(stream.get(), &error);
      const std::string message = scrub(error);
      remove_file(client, oid);
      fail(what + ": " + message);
    }
  }

  // Best effort: deletes the GridFS file `oid` (its files document and chunks).
  void remove_file(const PooledClient& client, const bson_oid_t& oid) const noexcept {
    const std::string files = m_o.prefix + ".files";
    const std::string chunks = m_o.prefix + ".chunks";
    const Collection f(
        mongoc_client_get_collection(client.get(), m_o.database.c_str(), files.c_str()));
    const Collection c(
        mongoc_client_get_collection(client.get(), m_o.database.c_str(), chunks.c_str()));
    Bson by_id;
    by_id.oid("_id", oid);
    Bson by_file;
    by_file.oid("files_id", oid);
    bson_error_t error{};
    (void)mongoc_collection_delete_many(c.get(), by_file.get(), nullptr, nullptr, &error);
    (void)mongoc_collection_delete_one(f.get(), by_id.get(), nullptr, nullptr, &error);
  }

  // Calls `each` with the string field `field` of every metadata document matching `filter`,
  // reading the cursor in batches of page_size.
  void for_each(const Bson& filter, const char* field, const std::string& what,
                const std::function<void(std::string_view)>& each) const {
    const PooledClient client(m_pool.get());
    const Collection coll = objects(client);
    Bson projection;
    projection.int32(field, 1);
    Bson opts;
    opts.document("projection", projection).int32("batchSize", m_o.page_size);
    const Cursor cursor(
        mongoc_collection_find_with_opts(coll.get(), filter.get(), opts.get(), nullptr));
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      bson_iter_t it;
      if (!bson_iter_init_find(&it, doc, field) || !BSON_ITER_HOLDS_UTF8(&it)) continue;
      std::uint32_t len = 0;
      const char* v = bson_iter_utf8(&it, &len);
      each(std::string_view(v, len));
    }
    bson_error_t error{};
    if (mongoc_cursor_error(cursor.get(), &error)) fail(what + ": " + scrub(error));
  }

  // Versions of `module` with a stored .info (escaped).
  std::vector<std::string> list_versions(const std::string& module) const {
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    Bson filter;
    filter.utf8("m", module);
    for_each(filter, "n", "list " + keys::printable(module), [&](std::string_view n) {
      if (n.size() > ext.size() && n.ends_with(ext)) out.emplace_back(n.substr(0, n.size() - 5));
    });
    return out;
  }

  // Replaces (or creates) the list document of `module` with `body`. Throws StoreError.
  void write_list(const std::string& module, const std::string& body) {
    const std::string key = keys::list_key(module);
    const std::string what = "write " + keys::printable(key);
    const PooledClient client(m_pool.get());
    const Collection coll = objects(client);
    Bson selector;
    selector.utf8("_id", key);
    Bson opts;
    opts.boolean("upsert", true);
    // Two upserts of one new _id may race to insert it: the loser's E11000 means the document
    // exists now, and replacing it again succeeds.
    for (int attempt = 0;; ++attempt) {
      bson_oid_t oid;
      bson_oid_init(&oid, nullptr);
      Bson doc;
      meta_doc(doc, key, body.size(), hex_of(oid));
      doc.binary("data", body);
      bson_error_t error{};
      if (mongoc_collection_replace_one(coll.get(), selector.get(), doc.get(), opts.get(), nullptr,
                                        &error)) {
        return;
      }
      if (error.code != k_duplicate_key || attempt == 2) fail(what + ": " + scrub(error));
    }
  }

  // Rebuilds "<m>/@v/list" from the .info keys and writes it. Serialized per module in this
  // process; against other replicas, re-lists after writing and rewrites while it missed a
  // version (bounded).
  void refresh_list(std::string_view module) {
    const std::lock_guard lock(
        m_list_locks[std::hash<std::string_view>{}(module) % m_list_locks.size()]);
    const std::string m(module);
    std::string body = keys::render_list(list_versions(m));
    for (int round = 0; round < 3; ++round) {
      write_list(m, body);
      std::string again = keys::render_list(list_versions(m));
      if (again == body) return;
      body = std::move(again);
    }
  }

  MongoOptions m_o;
  std::string m_objects_name;
  Pool m_pool;
  std::array<std::mutex, 64> m_list_locks;
};

}  // namespace

std::unique_ptr<Store> make_mongodb_store(const MongoOptions& options) {
  auto store = std::make_unique<MongoStore>(options);
  store->open();
  return store;
}

}  // namespace stoa::store
