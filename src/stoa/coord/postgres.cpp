#include "stoa/coord/postgres.hpp"

#include <optional>
#include <vector>

#include "stoa/pq/pq.hpp"

namespace stoa::coord {
namespace {

using Clock = std::chrono::steady_clock;

// SQLSTATE 57014: the statement_timeout that bounds a wait ran out.
constexpr std::string_view k_query_canceled = "57014";

[[noreturn]] void fail(const pq::Error& e) {
  throw LockError(std::string("postgres: ") + e.what());
}

class PostgresLocks;

class PostgresHeld final : public Held {
 public:
  PostgresHeld(PostgresLocks& locks, pq::Connection conn, std::int64_t id)
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
  std::optional<pq::Connection> m_conn;  // empty once released
  std::int64_t m_id;
  bool m_lost = false;
};

class PostgresLocks final : public Locks {
 public:
  explicit PostgresLocks(const PostgresOptions& o)
      : m_pool({{o.url, o.connect_timeout, "stoa-locks"}, o.max_idle}) {}

  std::unique_ptr<Held> acquire(const std::string& key, Clock::time_point deadline) override {
    try {
      return try_acquire(key, deadline);
    } catch (const pq::Error& e) {
      fail(e);
    }
  }

  std::string_view backend() const override { return "postgres"; }

  // Unlocks and keeps the session for reuse; on any failure the session is closed instead
  // (which ends the lock). Returns false if the lock was not held any more.
  bool release(pq::Connection c, std::int64_t id) {
    try {
      const bool held = ask_bool(c, "SELECT pg_advisory_unlock($1::bigint)", {std::to_string(id)});
      m_pool.give(std::move(c));
      return held;
    } catch (const pq::Error& e) {
      fail(e);
    }
  }

 private:
  std::unique_ptr<Held> try_acquire(const std::string& key, Clock::time_point deadline) {
    const std::int64_t id = advisory_key(key);
    const std::string ids = std::to_string(id);
    pq::Connection c = m_pool.take();
    if (ask_bool(c, "SELECT pg_try_advisory_lock($1::bigint)", {ids})) {
      return std::make_unique<PostgresHeld>(*this, std::move(c), id);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 1) {
      m_pool.give(std::move(c));
      return nullptr;
    }
    // Wait in the server: pg_advisory_lock returns when the holder unlocks or its session ends.
    c.exec("SELECT set_config('statement_timeout', $1, false)", {std::to_string(left.count())});
    bool ok = true;
    try {
      c.exec("SELECT pg_advisory_lock($1::bigint)", {ids});
    } catch (const pq::Error& e) {
      if (e.sqlstate() != k_query_canceled) throw;
      ok = false;
    }
    c.exec("SELECT set_config('statement_timeout', '0', false)");
    if (!ok) {
      m_pool.give(std::move(c));
      return nullptr;
    }
    return std::make_unique<PostgresHeld>(*this, std::move(c), id);
  }

  static bool ask_bool(pq::Connection& c, const char* sql, const std::vector<std::string>& params) {
    const pq::Result r = c.exec(sql, params);
    if (r.rows() != 1) throw LockError("postgres: unexpected answer");
    return r.value(0, 0) == "t";
  }

  pq::Pool m_pool;
};

void PostgresHeld::release() {
  if (!m_conn) return;
  pq::Connection c = std::move(*m_conn);
  m_conn.reset();
  m_lost = !m_locks.release(std::move(c), m_id);
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
