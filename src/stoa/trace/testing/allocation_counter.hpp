#pragma once
// Counts global operator new calls per thread, for tests that check a path does not allocate.
// Linking testing/allocation_counter.cpp into a test binary replaces every form of the global
// operator new and delete in it (malloc and free underneath, so sanitizers still see matching
// pairs). Test-only.

#include <cstdint>

namespace stoa::trace::testing {

// operator new calls made by the calling thread since it started.
std::uint64_t thread_allocations();

// Allocations made by this thread while the counter is alive.
class AllocationCounter {
 public:
  AllocationCounter() : m_start(thread_allocations()) {}
  std::uint64_t count() const { return thread_allocations() - m_start; }

 private:
  std::uint64_t m_start;
};

}  // namespace stoa::trace::testing
