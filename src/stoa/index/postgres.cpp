#include <libpq-fe.h>

#include <mutex>
#include <vector>

#include "stoa/index/index.hpp"
#include "stoa/index/schema.hpp"

namespace stoa::index {
namespace {

struct ConnFree {
  void operator()(PGconn* c) const { ::PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnFree>;
struct ResultFree {
  void operator()(PGresult* r) const { ::PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

std::string first_line(const char* s) {
  std::string out = s != nullptr ? s : "";
  if (const auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
  return out;
}

class PostgresIndex final : public Index {
 public:
  explicit PostgresIndex(std::string url) : m_url(std::move(url)) {}

 private:
  // Creates the table the first time the database answers (so a replica can start while the
  // database is down).
  void ensure_schema() {
    {
      const std::lock_guard lock(m_mu);
      if (m_ready) return;
    }
    Conn c = take();
    // Replicas starting together: CREATE ... IF NOT EXISTS races in PostgreSQL, so serialize.
    (void)exec(c, "BEGIN", {});
    (void)exec(c, "SELECT pg_advisory_xact_lock(7306099)", {});
    (void)exec(c, k_create_table, {});
    (void)exec(c, k_create_stored_index, {});
    (void)exec(c, "COMMIT", {});
    give(std::move(c));
    const std::lock_guard lock(m_mu);
    m_ready = true;
  }

 public:
  void record(const Entry& e) override {
    ensure_schema();
    Conn c = take();
    (void)exec(c, k_upsert_postgres,
               {e.module, e.version, e.zip_h1, e.mod_h1, std::to_string(e.zip_size),
                std::to_string(e.stored_ns), e.origin});
    give(std::move(c));
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
    Conn c = take();
    const Result r = exec(c, sql, params);
    give(std::move(c));
    std::vector<Entry> out;
    for (int i = 0; i < ::PQntuples(r.get()); ++i) {
      Entry e;
      e.module = ::PQgetvalue(r.get(), i, 0);
      e.version = ::PQgetvalue(r.get(), i, 1);
      e.zip_h1 = ::PQgetvalue(r.get(), i, 2);
      e.mod_h1 = ::PQgetvalue(r.get(), i, 3);
      e.zip_size = std::stoll(::PQgetvalue(r.get(), i, 4));
      e.stored_ns = std::stoll(::PQgetvalue(r.get(), i, 5));
      e.origin = ::PQgetvalue(r.get(), i, 6);
      out.push_back(std::move(e));
    }
    return out;
  }

  Conn take() {
    {
      const std::lock_guard lock(m_mu);
      while (!m_idle.empty()) {
        Conn c = std::move(m_idle.back());
        m_idle.pop_back();
        if (::PQstatus(c.get()) == CONNECTION_OK) return c;
      }
    }
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {m_url.c_str(), "2", "stoa-index", nullptr};
    Conn c(::PQconnectdbParams(keys, values, 1));
    if (!c) throw IndexError("postgres index: out of memory");
    if (::PQstatus(c.get()) != CONNECTION_OK) {
      throw IndexError("postgres index: " + first_line(::PQerrorMessage(c.get())));
    }
    return c;
  }

  void give(Conn c) {
    if (::PQstatus(c.get()) != CONNECTION_OK) return;
    const std::lock_guard lock(m_mu);
    if (m_idle.size() < 8) m_idle.push_back(std::move(c));
  }

  static Result exec(Conn& c, const char* sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    Result r(::PQexecParams(c.get(), sql, static_cast<int>(values.size()), nullptr, values.data(),
                            nullptr, nullptr, 0));
    if (!r) throw IndexError("postgres index: " + first_line(::PQerrorMessage(c.get())));
    const auto st = ::PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      throw IndexError("postgres index: " + first_line(::PQresultErrorMessage(r.get())));
    }
    return r;
  }

  const std::string m_url;
  std::mutex m_mu;
  bool m_ready = false;
  std::vector<Conn> m_idle;
};

}  // namespace

std::unique_ptr<Index> make_postgres_index(const std::string& url) {
  return std::make_unique<PostgresIndex>(url);
}

}  // namespace stoa::index
