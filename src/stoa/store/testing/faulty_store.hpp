#pragma once
// Tests only: a Store decorator that injects backend failures (the fail-counter habit of
// leveldb's SpecialEnv and Beast's test::fail_count). Arm an operation to throw StoreError on
// its n-th call from now, or on every call; other calls go to the wrapped store. Thread-safe.
// Op::put_derived arms the fault of a backend whose list refresh fails after a commit: put()
// commits in the wrapped store, then throws DerivedFileError.
//
//   auto faulty = std::make_unique<FaultyStore>(make_memory_store(dir));
//   faulty->fail_nth(FaultyStore::Op::get, 2);  // the second get() throws, once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "stoa/store/store.hpp"

namespace stoa::store::testing {

class FaultyStore final : public Store {
 public:
  enum class Op { get, stage, put, versions, repair_list, put_derived };

  explicit FaultyStore(std::unique_ptr<Store> inner) : m_inner(std::move(inner)) {}

  // The n-th call (1-based) of `op` counted from now throws; n = 0 disarms.
  void fail_nth(Op op, int n) {
    slot(op).remaining.store(n);
    slot(op).always.store(false);
  }
  // Every call of `op` throws until disarmed with fail_nth(op, 0).
  void fail_always(Op op) { slot(op).always.store(true); }
  // Calls of `op` seen so far, failed ones included.
  int calls(Op op) const { return m_slots[index(op)].calls.load(); }
  Store& inner() { return *m_inner; }

  std::optional<Object> get(const std::string& key) override {
    maybe_fail(Op::get, key);
    return m_inner->get(key);
  }
  fsio::TempFile stage() override {
    maybe_fail(Op::stage, {});
    return m_inner->stage();
  }
  // A failed put discards `staged`, as a real backend failure does.
  bool put(const std::string& key, fsio::TempFile staged) override {
    maybe_fail(Op::put, key);
    const bool committed = m_inner->put(key, std::move(staged));
    if (fires(Op::put_derived)) {
      throw DerivedFileError("injected fault: list refresh after committing " + key);
    }
    return committed;
  }
  bool repair_list(const std::string& escaped_module) override {
    maybe_fail(Op::repair_list, escaped_module);
    return m_inner->repair_list(escaped_module);
  }
  std::vector<std::string> versions(const std::string& escaped_module) override {
    maybe_fail(Op::versions, escaped_module);
    return m_inner->versions(escaped_module);
  }

  std::vector<std::string> modules() override {
    maybe_fail(Op::versions, "(all modules)");
    return m_inner->modules();
  }

  std::vector<std::string> files(const std::string& escaped_module) override {
    maybe_fail(Op::versions, escaped_module);
    return m_inner->files(escaped_module);
  }
  bool reads_may_block() const override { return m_inner->reads_may_block(); }

 private:
  struct Slot {
    std::atomic<int> remaining{0};
    std::atomic<bool> always{false};
    std::atomic<int> calls{0};
  };

  static std::size_t index(Op op) { return static_cast<std::size_t>(op); }
  Slot& slot(Op op) { return m_slots[index(op)]; }

  void maybe_fail(Op op, const std::string& what) {
    if (fires(op)) throw StoreError("injected fault: " + std::string(name(op)) + " " + what);
  }

  bool fires(Op op) {
    Slot& s = slot(op);
    s.calls.fetch_add(1);
    bool fire = s.always.load();
    // Decrement only while positive, so that exactly one call sees 1 -> 0 and fires.
    int n = s.remaining.load();
    while (!fire && n > 0) {
      if (s.remaining.compare_exchange_weak(n, n - 1)) {
        fire = n == 1;
        break;
      }
    }
    return fire;
  }

  static const char* name(Op op) {
    switch (op) {
      case Op::get:
        return "get";
      case Op::stage:
        return "stage";
      case Op::put:
        return "put";
      case Op::versions:
        return "versions";
      case Op::repair_list:
        return "repair_list";
      case Op::put_derived:
        return "put_derived";
    }
    return "?";
  }

  std::unique_ptr<Store> m_inner;
  std::array<Slot, 6> m_slots;
};

}  // namespace stoa::store::testing
