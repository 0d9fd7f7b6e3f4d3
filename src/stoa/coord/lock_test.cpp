#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include <atomic>
#include <future>
#include <thread>

#include "stoa/coord/postgres.hpp"
#include "stoa/coord/redis.hpp"
#include "stoa/coord/testing/servers.hpp"

namespace stoa::coord {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Started once per test binary.
testing::RedisServer& redis_server() {
  static testing::RedisServer s;
  return s;
}
testing::PostgresServer& postgres_server() {
  static testing::PostgresServer s;
  return s;
}

// One backend under test, and what a test needs to see from outside stoa's code.
struct Backend {
  virtual ~Backend() = default;
  virtual std::unique_ptr<Locks> make(std::chrono::milliseconds lease) = 0;
  // Waiters blocked on `key` right now, as the server sees them.
  virtual int waiters(const std::string& key) = 0;
  // Ends the hold of `key` as the death of its holder would.
  virtual void kill_holder(const std::string& key) = 0;
  virtual std::unique_ptr<Locks> make_unreachable() = 0;
};

struct RedisBackend : Backend {
  std::unique_ptr<Locks> make(std::chrono::milliseconds lease) override {
    return make_redis_locks({redis_server().url(), lease, 2000ms, "test:"});
  }
  long long ask(const std::vector<std::string>& args) {
    redisContext* c = ::redisConnect("127.0.0.1", redis_server().port());
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        ::redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    long long out = -1;
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) out = r->integer;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
      out = r->element[1]->integer;
    }
    if (r != nullptr) ::freeReplyObject(r);
    ::redisFree(c);
    return out;
  }
  int waiters(const std::string& key) override {
    return static_cast<int>(ask({"PUBSUB", "NUMSUB", "test:" + key + ":released"}));
  }
  // The holder stops renewing (its token no longer matches) and its hold runs out 300 ms later.
  void kill_holder(const std::string& key) override {
    ask({"EVAL", "redis.call('set', KEYS[1], 'dead', 'PX', 300, 'XX') return 1", "1",
         "test:" + key});
  }
  std::unique_ptr<Locks> make_unreachable() override {
    return make_redis_locks(
        {"redis://127.0.0.1:" + std::to_string(testing::free_port()), 1000ms, 500ms, "test:"});
  }
};

struct PostgresBackend : Backend {
  std::unique_ptr<Locks> make(std::chrono::milliseconds) override {
    return make_postgres_locks({postgres_server().url()});
  }
  std::string query(const std::string& sql) {
    PGconn* c = ::PQconnectdb(postgres_server().url().c_str());
    PGresult* r = ::PQexec(c, sql.c_str());
    std::string out =
        ::PQresultStatus(r) == PGRES_TUPLES_OK && ::PQntuples(r) > 0 ? ::PQgetvalue(r, 0, 0) : "";
    ::PQclear(r);
    ::PQfinish(c);
    return out;
  }
  // Advisory locks on a bigint key show up with objid = its low 32 bits.
  std::string where(const std::string& key) {
    const auto id = static_cast<std::uint64_t>(advisory_key(key));
    return "locktype = 'advisory' AND classid = " + std::to_string(id >> 32) +
           " AND objid = " + std::to_string(id & 0xffffffffu);
  }
  int waiters(const std::string& key) override {
    return std::stoi(query("SELECT count(*) FROM pg_locks WHERE NOT granted AND " + where(key)));
  }
  void kill_holder(const std::string& key) override {
    query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE granted AND " + where(key));
  }
  std::unique_ptr<Locks> make_unreachable() override {
    return make_postgres_locks(
        {"postgresql://postgres@127.0.0.1:" + std::to_string(testing::free_port()) + "/postgres"});
  }
};

class LockTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "redis") {
      m_backend = std::make_unique<RedisBackend>();
    } else {
      m_backend = std::make_unique<PostgresBackend>();
    }
  }
  // A key no other test uses.
  std::string key() const {
    return std::string("example.com/") +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/@v/v1.0.0.zip";
  }
  // Blocks until the server shows `n` waiters on `k` (bounded: fails after 10 s).
  void await_waiters(const std::string& k, int n) {
    const auto deadline = Clock::now() + 10s;
    while (m_backend->waiters(k) != n) {
      ASSERT_LT(Clock::now(), deadline) << "never saw " << n << " waiter(s)";
      std::this_thread::yield();
    }
  }
  std::unique_ptr<Backend> m_backend;
};

TEST_P(LockTest, OneHolderAtATime) {
  auto a = m_backend->make(10s);
  auto b = m_backend->make(10s);
  auto held = a->acquire(key(), Clock::now() + 1s);
  ASSERT_NE(held, nullptr);
  EXPECT_FALSE(held->lost());
  const auto t0 = Clock::now();
  EXPECT_EQ(b->acquire(key(), t0 + 200ms), nullptr);  // held elsewhere: waits out its deadline
  EXPECT_GE(Clock::now() - t0, 190ms);
  EXPECT_EQ(a->acquire(key(), Clock::now()), nullptr) << "not reentrant, even in one process";
  held->release();
  auto again = b->acquire(key(), Clock::now());
  EXPECT_NE(again, nullptr);
}

TEST_P(LockTest, WaiterWakesOnReleaseNotAtExpiry) {
  auto a = m_backend->make(20s);
  auto b = m_backend->make(20s);
  auto held = a->acquire(key(), Clock::now() + 1s);
  ASSERT_NE(held, nullptr);
  auto waiter = std::async(std::launch::async, [&] {
    auto h = b->acquire(key(), Clock::now() + 30s);
    return std::make_pair(h != nullptr, Clock::now());
  });
  await_waiters(key(), 1);
  const auto released = Clock::now();
  held->release();
  const auto [got, when] = waiter.get();
  EXPECT_TRUE(got);
  EXPECT_LT(when - released, 2s) << "woken by the release, long before the 20 s lease";
}

TEST_P(LockTest, HolderDeathFreesTheLock) {
  auto a = m_backend->make(1s);
  auto b = m_backend->make(1s);
  auto held = a->acquire(key(), Clock::now() + 1s);
  ASSERT_NE(held, nullptr);
  auto waiter = std::async(std::launch::async,
                           [&] { return b->acquire(key(), Clock::now() + 30s) != nullptr; });
  await_waiters(key(), 1);
  m_backend->kill_holder(key());
  const auto t0 = Clock::now();
  EXPECT_TRUE(waiter.get());
  EXPECT_LT(Clock::now() - t0, 3s);
  // The dead holder's own release is harmless and says the lock was lost.
  try {
    held->release();
    EXPECT_TRUE(held->lost());
  } catch (const LockError&) {
    // postgres: the holder's session is gone
  }
}

TEST_P(LockTest, UnreachableServerIsAnErrorNotAbsence) {
  auto locks = m_backend->make_unreachable();
  EXPECT_THROW((void)locks->acquire(key(), Clock::now() + 1s), LockError);
}

TEST_P(LockTest, ManyContendersOneAtATime) {
  constexpr int k_threads = 8;
  std::vector<std::unique_ptr<Locks>> locks;
  for (int i = 0; i < k_threads; ++i) locks.push_back(m_backend->make(10s));
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::atomic<int> turns{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_threads; ++i) {
    threads.emplace_back([&, i] {
      auto h = locks[i]->acquire(key(), Clock::now() + 30s);
      if (!h) return;
      const int n = ++inside;
      int m = max_inside.load();
      while (n > m && !max_inside.compare_exchange_weak(m, n)) {
      }
      ++turns;
      --inside;
      h->release();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(turns.load(), k_threads);
  EXPECT_EQ(max_inside.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, LockTest, ::testing::Values("redis", "postgres"),
                         [](const auto& p) { return p.param; });

TEST(RedisLocks, LeaseIsRenewedWhileHeldAndExpiresWithoutRenewal) {
  auto a = make_redis_locks({redis_server().url(), 300ms, 2000ms, "renew:"});
  auto b = make_redis_locks({redis_server().url(), 300ms, 2000ms, "renew:"});
  auto held = a->acquire("k", Clock::now() + 1s);
  ASSERT_NE(held, nullptr);
  // Four leases long: only renewal keeps it.
  EXPECT_EQ(b->acquire("k", Clock::now() + 1200ms), nullptr);
  EXPECT_FALSE(held->lost());
  held->release();

  // A holder that stopped renewing (its process died): its hold ends after the lease, and the
  // waiter takes over then without being told.
  RedisBackend raw;
  ASSERT_EQ(raw.ask({"EVAL", "redis.call('set', KEYS[1], 'dead', 'PX', 300) return 1", "1",
                     "renew:dead"}),
            1);
  const auto t0 = Clock::now();
  auto h = b->acquire("dead", t0 + 10s);
  EXPECT_NE(h, nullptr);
  EXPECT_GE(Clock::now() - t0, 200ms);
  EXPECT_LT(Clock::now() - t0, 3s);
}

TEST(RedisLocks, ServerGoingAwayWhileWaitingIsAnError) {
  testing::RedisServer own;
  auto a = make_redis_locks({own.url(), 10s, 1000ms, "t:"});
  auto b = make_redis_locks({own.url(), 10s, 1000ms, "t:"});
  auto held = a->acquire("k", Clock::now() + 1s);
  ASSERT_NE(held, nullptr);
  auto waiter = std::async(std::launch::async, [&] {
    try {
      (void)b->acquire("k", Clock::now() + 30s);
      return std::string("returned");
    } catch (const LockError& e) {
      return std::string("LockError");
    }
  });
  // Waiting: subscribed to the key's channel.
  const auto deadline = Clock::now() + 10s;
  for (;;) {
    redisContext* c = ::redisConnect("127.0.0.1", own.port());
    auto* r = static_cast<redisReply*>(::redisCommand(c, "PUBSUB NUMSUB t:k:released"));
    const bool waiting =
        r != nullptr && r->type == REDIS_REPLY_ARRAY && r->element[1]->integer == 1;
    if (r != nullptr) ::freeReplyObject(r);
    ::redisFree(c);
    if (waiting) break;
    ASSERT_LT(Clock::now(), deadline);
  }
  own.stop();
  EXPECT_EQ(waiter.get(), "LockError");
}

TEST(RedisLocks, RejectsBadUrls) {
  EXPECT_THROW(make_redis_locks({"http://h:1"}), LockError);
  EXPECT_THROW(make_redis_locks({"redis://h:notaport"}), LockError);
  EXPECT_THROW(make_redis_locks({"redis://h:1/x"}), LockError);
  EXPECT_THROW(make_redis_locks({"redis://"}), LockError);
  try {
    make_redis_locks({"redis://u:s3cret@h:0"});
    ADD_FAILURE();
  } catch (const LockError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
  }
}

TEST(PostgresLocks, AdvisoryKeyIsStable) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c: the same in every process and build.
  EXPECT_EQ(static_cast<std::uint64_t>(advisory_key("a")), 0xaf63dc4c8601ec8cULL);
  EXPECT_NE(advisory_key("m/@v/v1.0.0.zip"), advisory_key("m/@v/v1.0.1.zip"));
}

}  // namespace
}  // namespace stoa::coord
