#include "stoa/coord/postgres.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace stoa::coord {
namespace {

using Clock = std::chrono::steady_clock;

struct ConnFree {
  void operator()(PGconn* c) const { ::PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnFree>;
struct ResultFree {
  void operator()(PGresult* r) const { ::PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

// SQLSTATE 57014: the statement_timeout that bounds a wait ran out.
constexpr std::string_view k_query_canceled = "57014";

std::string first_line(const char* s) {
  std::string out = s != nullptr ? s : "";
  if (const auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
  return out;
}

class PostgresLocks;

class PostgresHeld final : public Held {
 public:
  PostgresHeld(PostgresLocks& locks, Conn conn, std::int64_t id)
      : m_locks(locks), m_conn(std::move(conn)), m_id(id) {}
  ~PostgresHeld() override {
    try {
      release();
    } catch (const LockError&) {
      // The session is closed: that ends the lock.
    }
  }
  void release() override;
  bool lost() const override { return m_lost; }

 private:
  PostgresLocks& m_locks;
  Conn m_conn;
  std::int64_t m_id;
  bool m_lost = false;
};

class PostgresLocks final : public Locks {
 public:
  explicit PostgresLocks(PostgresOptions o) : m_options(std::move(o)) {}

  std::unique_ptr<Held> acquire(const std::string& key, Clock::time_point deadline) override {
    const std::int64_t id = advisory_key(key);
    const std::string ids = std::to_string(id);
    Conn c = take();
    if (ask_bool(c, "SELECT pg_try_advisory_lock($1::bigint)", {ids})) {
      return std::make_unique<PostgresHeld>(*this, std::move(c), id);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 1) {
      give(std::move(c));
      return nullptr;
    }
    // Wait in the server: pg_advisory_lock returns when the holder unlocks or its session ends.
    (void)exec(c, "SELECT set_config('statement_timeout', $1, false)",
               {std::to_string(left.count())});
    Result r = run(c, "SELECT pg_advisory_lock($1::bigint)", {ids});
    const bool ok = PQresultStatus(r.get()) == PGRES_TUPLES_OK;
    const char* state = ok ? nullptr : PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    if (!ok && (state == nullptr || k_query_canceled != state)) {
      throw LockError("postgres: " + first_line(PQresultErrorMessage(r.get())));
    }
    (void)exec(c, "SELECT set_config('statement_timeout', '0', false)", {});
    if (!ok) {
      give(std::move(c));
      return nullptr;
    }
    return std::make_unique<PostgresHeld>(*this, std::move(c), id);
  }

  std::string_view backend() const override { return "postgres"; }

  // Unlocks and keeps the session for reuse; on any failure the session is closed instead
  // (which ends the lock). Returns false if the lock was not held any more.
  bool release(Conn c, std::int64_t id) {
    const bool held = ask_bool(c, "SELECT pg_advisory_unlock($1::bigint)", {std::to_string(id)});
    give(std::move(c));
    return held;
  }

 private:
  Conn connect() {
    const std::string timeout =
        std::to_string(std::max<std::int64_t>(1, (m_options.connect_timeout.count() + 999) / 1000));
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {m_options.url.c_str(), timeout.c_str(), "stoa-locks", nullptr};
    Conn c(::PQconnectdbParams(keys, values, 1));
    if (!c) throw LockError("postgres: out of memory");
    if (::PQstatus(c.get()) != CONNECTION_OK) {
      throw LockError("postgres: " + first_line(::PQerrorMessage(c.get())));
    }
    return c;
  }

  Conn take() {
    {
      const std::lock_guard lock(m_mu);
      if (!m_idle.empty()) {
        Conn c = std::move(m_idle.back());
        m_idle.pop_back();
        if (::PQstatus(c.get()) == CONNECTION_OK) return c;
      }
    }
    return connect();
  }

  void give(Conn c) {
    if (!c || ::PQstatus(c.get()) != CONNECTION_OK) return;
    const std::lock_guard lock(m_mu);
    if (m_idle.size() < m_options.max_idle) m_idle.push_back(std::move(c));
  }

  static Result run(Conn& c, const char* sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    Result r(::PQexecParams(c.get(), sql, static_cast<int>(values.size()), nullptr, values.data(),
                            nullptr, nullptr, 0));
    if (!r) throw LockError("postgres: " + first_line(::PQerrorMessage(c.get())));
    return r;
  }

  static Result exec(Conn& c, const char* sql, const std::vector<std::string>& params) {
    Result r = run(c, sql, params);
    if (::PQresultStatus(r.get()) != PGRES_TUPLES_OK &&
        ::PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      throw LockError("postgres: " + first_line(::PQresultErrorMessage(r.get())));
    }
    return r;
  }

  static bool ask_bool(Conn& c, const char* sql, const std::vector<std::string>& params) {
    const Result r = exec(c, sql, params);
    if (::PQntuples(r.get()) != 1) throw LockError("postgres: unexpected answer");
    return std::strcmp(::PQgetvalue(r.get(), 0, 0), "t") == 0;
  }

  const PostgresOptions m_options;
  std::mutex m_mu;
  std::vector<Conn> m_idle;
};

void PostgresHeld::release() {
  if (!m_conn) return;
  m_lost = !m_locks.release(std::move(m_conn), m_id);
}

}  // namespace

std::int64_t advisory_key(std::string_view key) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char ch : key) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ULL;
  }
  return static_cast<std::int64_t>(h);
}

std::unique_ptr<Locks> make_postgres_locks(const PostgresOptions& options) {
  return std::make_unique<PostgresLocks>(options);
}

}  // namespace stoa::coord
