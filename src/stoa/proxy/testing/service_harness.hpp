// A whole Service for the tests that need one: a memory store in a scratch directory, a scripted
// upstream, a worker pool and a registry, built from the options a test sets (its sources, its
// version filter, its policy...). Only the options differ between the tests that use it. What
// the options point at (a policy, an index, another pool) belongs to the test and must outlive
// the harness; a pool of the test's own is shut down by the test before the harness goes.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/store/memory.hpp"

namespace stoa::proxy::fakes {

// The harness's worker pool.
struct HarnessPool {
  std::size_t workers = 4;
  std::size_t queued = 64;
};

class ServiceHarness {
 public:
  // Passthrough fetches are staged in the harness's own directory unless options name one.
  explicit ServiceHarness(ServiceOptions options, HarnessPool pool = {})
      : m_store(store::make_memory_store(m_dir.path())),
        m_pool(pool.workers, pool.queued),
        m_service(with_scratch_dir(std::move(options), m_dir.path()), *m_store, m_upstream, m_pool,
                  std::make_shared<spdlog::logger>("test",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>()),
                  m_registry) {}
  // The pool's workers finish before the service and the store they use go.
  ~ServiceHarness() { m_pool.shutdown(); }
  ServiceHarness(const ServiceHarness&) = delete;
  ServiceHarness& operator=(const ServiceHarness&) = delete;

  // The one answer to GET target.
  Response get(const std::string& target) { return handle(make_request("GET", target)); }
  // The one answer to a request the test built (credentials, a client address...).
  Response handle(const HttpRequest& request) {
    Responses rs;
    m_service.handle(request, rs.sink());
    return std::move(rs.wait_for(1).front());
  }
  // Commits `body` under `key`, as if fetched before the test.
  void put(const std::string& key, const std::string& body) {
    auto staged = m_store->stage();
    staged.write(body);
    m_store->put(key, std::move(staged));
  }

  ScriptedUpstream& upstream() { return m_upstream; }
  store::Store& store() { return *m_store; }
  metrics::Registry& registry() { return m_registry; }
  fetch::WorkerPool& pool() { return m_pool; }
  Service& service() { return m_service; }

 private:
  static ServiceOptions with_scratch_dir(ServiceOptions options, const std::filesystem::path& dir) {
    if (options.scratch_dir.empty()) options.scratch_dir = dir;
    return options;
  }

  metrics::Registry m_registry;
  fsio::testing::ScratchDir m_dir;
  std::unique_ptr<store::Store> m_store;
  fetch::WorkerPool m_pool;
  ScriptedUpstream m_upstream;
  Service m_service;
};

}  // namespace stoa::proxy::fakes
