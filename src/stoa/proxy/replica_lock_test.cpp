// The cross-replica lock as a decorator, alone: a fake lock service and the memory store.
#include "stoa/proxy/replica_lock.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "stoa/coord/lock.hpp"
#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/memory.hpp"

namespace stoa::proxy {
namespace {

using Status = FetchResult::Status;

// A lock service that grants, times out or fails, as told, and counts its calls.
class FakeLocks final : public coord::Locks {
 public:
  enum class Mode { grant, time_out, fail } mode = Mode::grant;
  int acquired = 0;
  int released = 0;

  std::unique_ptr<coord::Held> acquire(const std::string& /*key*/,
                                       std::chrono::steady_clock::time_point) override {
    ++acquired;
    if (mode == Mode::fail) throw coord::LockError("lock service down");
    if (mode == Mode::time_out) return nullptr;
    return std::make_unique<Held>(*this);
  }
  std::string_view backend() const override { return "fake"; }

 private:
  class Held final : public coord::Held {
   public:
    explicit Held(FakeLocks& l) : m_locks(l) {}
    void release() override { ++m_locks.released; }
    bool lost() const override { return false; }

   private:
    FakeLocks& m_locks;
  };
};

class ReplicaLockTest : public ::testing::Test {
 protected:
  ReplicaLockTest()
      : m_store(store::make_memory_store(m_dir.path())),
        m_metrics(m_registry, "memory"),
        m_lock(&m_locks, std::chrono::milliseconds(100), std::chrono::milliseconds(60'000),
               *m_store, m_tracer, m_metrics,
               std::make_shared<spdlog::logger>("test",
                                                std::make_shared<spdlog::sinks::null_sink_mt>())) {}

  FetchResult run(bool& fetched) {
    fetched = true;
    return m_lock.run(
        "example.com/m/@v/v1.0.0.info", {},
        [this] {
          ++m_fetches;
          return FetchResult{Status::ok, {}, {}, {}};
        },
        fetched);
  }

  metrics::Registry m_registry;
  fsio::testing::ScratchDir m_dir;
  std::unique_ptr<store::Store> m_store;
  trace::Tracer m_tracer;
  ServiceMetrics m_metrics;
  FakeLocks m_locks;
  ReplicaLock m_lock;
  int m_fetches = 0;
};

TEST_F(ReplicaLockTest, FetchesUnderTheLockAndReleasesIt) {
  bool fetched = false;
  EXPECT_EQ(run(fetched).status, Status::ok);
  EXPECT_TRUE(fetched);
  EXPECT_EQ(m_fetches, 1);
  EXPECT_EQ(m_locks.acquired, 1);
  EXPECT_EQ(m_locks.released, 1);
  EXPECT_EQ(m_lock.held(), 0);
}

TEST_F(ReplicaLockTest, AFileStoredMeanwhileIsNotFetched) {
  auto t = m_store->stage();
  t.write(R"({"Version":"v1.0.0"})");
  m_store->put("example.com/m/@v/v1.0.0.info", std::move(t));
  bool fetched = true;
  EXPECT_EQ(run(fetched).status, Status::ok);
  EXPECT_FALSE(fetched);
  EXPECT_EQ(m_fetches, 0);
  EXPECT_EQ(m_metrics.lock_found_stored.value(), 1);
}

TEST_F(ReplicaLockTest, ATimeoutFetchesAnyway) {
  m_locks.mode = FakeLocks::Mode::time_out;
  bool fetched = false;
  EXPECT_EQ(run(fetched).status, Status::ok);
  EXPECT_EQ(m_fetches, 1);
  EXPECT_EQ(m_locks.released, 0);
}

TEST_F(ReplicaLockTest, AFailedServiceIsLeftAloneForTheRetryPause) {
  m_locks.mode = FakeLocks::Mode::fail;
  bool fetched = false;
  EXPECT_EQ(run(fetched).status, Status::ok);  // fetched without the lock
  EXPECT_EQ(run(fetched).status, Status::ok);  // within the pause: not even asked
  EXPECT_EQ(m_fetches, 2);
  EXPECT_EQ(m_locks.acquired, 1);
  EXPECT_EQ(m_metrics.lock_degraded.value(), 2);
}

}  // namespace
}  // namespace stoa::proxy
