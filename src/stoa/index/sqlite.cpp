#include <sqlite3.h>

#include <mutex>

#include "stoa/index/index.hpp"
#include "stoa/index/schema.hpp"

namespace stoa::index {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { ::sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { ::sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

class SqliteIndex final : public Index {
 public:
  explicit SqliteIndex(const std::string& file) {
    sqlite3* raw = nullptr;
    const int rc = ::sqlite3_open_v2(
        file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    m_db.reset(raw);
    if (rc != SQLITE_OK) fail("open " + file);
    ::sqlite3_busy_timeout(m_db.get(), 10'000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec(k_create_table);
    exec(k_create_stored_index);
    exec(k_create_seen_table);
  }

  void record_seen(const std::string& module, const std::vector<std::string>& versions,
                   std::int64_t seen_ns) override {
    if (versions.empty()) return;
    const std::lock_guard lock(m_mu);
    exec("BEGIN IMMEDIATE");
    try {
      Stmt s = prepare(
          "INSERT INTO stoa_first_seen (module, version, seen_ns) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (module, version) DO NOTHING");
      for (const auto& v : versions) {
        ::sqlite3_reset(s.get());
        bind(s, 1, module);
        bind(s, 2, v);
        ::sqlite3_bind_int64(s.get(), 3, seen_ns);
        if (::sqlite3_step(s.get()) != SQLITE_DONE) fail("record_seen");
      }
      exec("COMMIT");
    } catch (...) {
      ::sqlite3_exec(m_db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::vector<Seen> seen(const std::string& module) override {
    const std::lock_guard lock(m_mu);
    Stmt s = prepare(k_seen_sqlite);
    bind(s, 1, module);
    std::vector<Seen> out;
    for (;;) {
      const int rc = ::sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail("seen");
      out.push_back({text(s, 0), ::sqlite3_column_int64(s.get(), 1)});
    }
    return out;
  }

  void record(const Entry& e) override {
    const std::lock_guard lock(m_mu);
    Stmt s = prepare(k_upsert_sqlite);
    bind(s, 1, e.module);
    bind(s, 2, e.version);
    bind(s, 3, e.zip_h1);
    bind(s, 4, e.mod_h1);
    ::sqlite3_bind_int64(s.get(), 5, e.zip_size);
    ::sqlite3_bind_int64(s.get(), 6, e.stored_ns);
    bind(s, 7, e.origin);
    if (::sqlite3_step(s.get()) != SQLITE_DONE) fail("record");
  }

  std::vector<Entry> since(std::int64_t since_ns, const std::string& after_module,
                           const std::string& after_version, std::size_t limit) override {
    const std::lock_guard lock(m_mu);
    Stmt s = prepare(
        "SELECT module, version, zip_h1, mod_h1, zip_size, stored_ns, origin FROM stoa_versions "
        "WHERE (stored_ns, module, version) > (?1, ?2, ?3) ORDER BY stored_ns, module, version "
        "LIMIT ?4");
    ::sqlite3_bind_int64(s.get(), 1, since_ns);
    bind(s, 2, after_module);
    bind(s, 3, after_version);
    ::sqlite3_bind_int64(s.get(), 4, static_cast<std::int64_t>(limit));
    return rows(s);
  }

  std::vector<Entry> page(const std::string& after_module, const std::string& after_version,
                          std::size_t limit, std::size_t skip) override {
    const std::lock_guard lock(m_mu);
    Stmt s = prepare(
        "SELECT module, version, zip_h1, mod_h1, zip_size, stored_ns, origin FROM stoa_versions "
        "WHERE module > ?1 OR (module = ?1 AND version > ?2) ORDER BY module, version "
        "LIMIT ?3 OFFSET ?4");
    bind(s, 1, after_module);
    bind(s, 2, after_version);
    ::sqlite3_bind_int64(s.get(), 3, static_cast<std::int64_t>(limit));
    ::sqlite3_bind_int64(s.get(), 4, static_cast<std::int64_t>(skip));
    return rows(s);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw IndexError("sqlite index: " + what + ": " +
                     (m_db ? ::sqlite3_errmsg(m_db.get()) : "out of memory"));
  }
  void exec(const char* sql) {
    char* err = nullptr;
    if (::sqlite3_exec(m_db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err != nullptr ? err : "?";
      ::sqlite3_free(err);
      throw IndexError("sqlite index: " + msg);
    }
  }
  Stmt prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (::sqlite3_prepare_v2(m_db.get(), sql, -1, &raw, nullptr) != SQLITE_OK) fail("prepare");
    return Stmt(raw);
  }
  static void bind(Stmt& s, int i, const std::string& v) {
    ::sqlite3_bind_text(s.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string text(Stmt& s, int col) {
    const auto* p = ::sqlite3_column_text(s.get(), col);
    return p != nullptr
               ? std::string(reinterpret_cast<const char*>(p),
                             static_cast<std::size_t>(::sqlite3_column_bytes(s.get(), col)))
               : std::string();
  }
  std::vector<Entry> rows(Stmt& s) {
    std::vector<Entry> out;
    for (;;) {
      const int rc = ::sqlite3_step(s.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail("query");
      Entry e;
      e.module = text(s, 0);
      e.version = text(s, 1);
      e.zip_h1 = text(s, 2);
      e.mod_h1 = text(s, 3);
      e.zip_size = ::sqlite3_column_int64(s.get(), 4);
      e.stored_ns = ::sqlite3_column_int64(s.get(), 5);
      e.origin = text(s, 6);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::mutex m_mu;  // one connection, used by one thread at a time
  std::unique_ptr<sqlite3, DbClose> m_db;
};

}  // namespace

std::unique_ptr<Index> make_sqlite_index(const std::string& file) {
  return std::make_unique<SqliteIndex>(file);
}

}  // namespace stoa::index
