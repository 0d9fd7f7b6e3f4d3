#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "stoa/index/index.hpp"
#include "stoa/index/schema.hpp"
#include "stoa/pq/pq.hpp"

namespace stoa::index {
namespace {

[[noreturn]] void fail(const pq::Error& e) {
  throw IndexError(std::string("postgres index: ") + e.what());
}

class PostgresIndex final : public Index {
 public:
  explicit PostgresIndex(const std::string& url)
      : m_pool({{url, std::chrono::seconds(2), "stoa-index"}, 8}) {}

 private:
  // Creates the table the first time the database answers (so a replica can start while the
  // database is down).
  void ensure_schema() {
    {
      const std::lock_guard lock(m_mu);
      if (m_ready) return;
    }
    try {
      pq::Connection c = m_pool.take();
      // Replicas starting together: CREATE ... IF NOT EXISTS races in PostgreSQL, so serialize.
      c.exec("BEGIN");
      c.exec("SELECT pg_advisory_xact_lock(7306099)");
      c.exec(k_create_table);
      c.exec(k_create_stored_index);
      c.exec(k_create_seen_table);
      c.exec("COMMIT");
      m_pool.give(std::move(c));
    } catch (const pq::Error& e) {
      fail(e);
    }
    const std::lock_guard lock(m_mu);
    m_ready = true;
  }

 public:
  void record(const Entry& e) override {
    ensure_schema();
    try {
      pq::Connection c = m_pool.take();
      c.exec(k_upsert_postgres,
             {e.module, e.version, e.zip_h1, e.mod_h1, std::to_string(e.zip_size),
              std::to_string(e.stored_ns), e.origin});
      m_pool.give(std::move(c));
    } catch (const pq::Error& err) {
      fail(err);
    }
  }

  void record_seen(const std::string& module, const std::vector<std::string>& versions,
                   std::int64_t seen_ns) override {
    if (versions.empty()) return;
    ensure_schema();
    // One statement for the lot: the versions as a text array parameter.
    std::string array = "{";
    for (const auto& v : versions) {
      if (array.size() > 1) array += ',';
      array += '"';
      for (const char c : v) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
      }
      array += '"';
    }
    array += '}';
    try {
      pq::Connection c = m_pool.take();
      c.exec(
          "INSERT INTO stoa_first_seen (module, version, seen_ns) "
          "SELECT $1, v, $3::bigint FROM unnest($2::text[]) AS v "
          "ON CONFLICT (module, version) DO NOTHING",
          {module, array, std::to_string(seen_ns)});
      m_pool.give(std::move(c));
    } catch (const pq::Error& err) {
      fail(err);
    }
  }

  std::vector<Seen> seen(const std::string& module) override {
    ensure_schema();
    std::optional<pq::Result> r;
    try {
      pq::Connection c = m_pool.take();
      r = c.exec(k_seen_postgres, {module});
      m_pool.give(std::move(c));
    } catch (const pq::Error& e) {
      fail(e);
    }
    std::vector<Seen> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back({std::string(r->value(i, 0)), std::stoll(std::string(r->value(i, 1)))});
    }
    return out;
  }

  std::vector<Entry> since(std::int64_t since_ns, const std::string& after_module,
                           const std::string& after_version, std::size_t limit) override {
    return query(
        "SELECT module, version, zip_h1, mod_h1, zip_size, stored_ns, origin FROM stoa_versions "
        "WHERE (stored_ns, module COLLATE \"C\", version COLLATE \"C\") > ($1::bigint, $2, $3) "
        "ORDER BY stored_ns, module COLLATE \"C\", version COLLATE \"C\" LIMIT $4::bigint",
        {std::to_string(since_ns), after_module, after_version, std::to_string(limit)});
  }

  std::vector<Entry> page(const std::string& after_module, const std::string& after_version,
                          std::size_t limit, std::size_t skip) override {
    return query(
        "SELECT module, version, zip_h1, mod_h1, zip_size, stored_ns, origin FROM stoa_versions "
        "WHERE (module COLLATE \"C\", version COLLATE \"C\") > ($1, $2) "
        "ORDER BY module COLLATE \"C\", version COLLATE \"C\" LIMIT $3::bigint OFFSET $4::bigint",
        {after_module, after_version, std::to_string(limit), std::to_string(skip)});
  }

 private:
  std::vector<Entry> query(const char* sql, const std::vector<std::string>& params) {
    ensure_schema();
    std::optional<pq::Result> r;
    try {
      pq::Connection c = m_pool.take();
      r = c.exec(sql, params);
      m_pool.give(std::move(c));
    } catch (const pq::Error& e) {
      fail(e);
    }
    std::vector<Entry> out;
    for (int i = 0; i < r->rows(); ++i) {
      Entry e;
      e.module = r->value(i, 0);
      e.version = r->value(i, 1);
      e.zip_h1 = r->value(i, 2);
      e.mod_h1 = r->value(i, 3);
      e.zip_size = std::stoll(std::string(r->value(i, 4)));
      e.stored_ns = std::stoll(std::string(r->value(i, 5)));
      e.origin = r->value(i, 6);
      out.push_back(std::move(e));
    }
    return out;
  }

  pq::Pool m_pool;
  std::mutex m_mu;
  bool m_ready = false;
};

}  // namespace

std::unique_ptr<Index> make_postgres_index(const std::string& url) {
  return std::make_unique<PostgresIndex>(url);
}

}  // namespace stoa::index
