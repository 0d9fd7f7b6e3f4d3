// A whole Service for the seam tests: a memory store in a scratch directory, a scripted
// upstream, a worker pool and a registry, built from the options a test sets (its sources, its
// version filter...). Only the options differ between the tests that use it.
#pragma once

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/store/memory.hpp"

namespace stoa::proxy::fakes {

class ServiceHarness {
 public:
  explicit ServiceHarness(const ServiceOptions& options)
      : m_store(store::make_memory_store(m_dir.path())),
        m_pool(4, 64),
        m_service(options, *m_store, m_upstream, m_pool,
                  std::make_shared<spdlog::logger>("test",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>()),
                  m_registry) {}
  // The pool's workers finish before the service and the store they use go.
  ~ServiceHarness() { m_pool.shutdown(); }
  ServiceHarness(const ServiceHarness&) = delete;
  ServiceHarness& operator=(const ServiceHarness&) = delete;

  // The one answer to GET target.
  Response get(const std::string& target) {
    Responses rs;
    m_service.handle(make_request("GET", target), rs.sink());
    return std::move(rs.wait_for(1).front());
  }

  ScriptedUpstream& upstream() { return m_upstream; }
  store::Store& store() { return *m_store; }
  metrics::Registry& registry() { return m_registry; }

 private:
  metrics::Registry m_registry;
  fsio::testing::ScratchDir m_dir;
  std::unique_ptr<store::Store> m_store;
  fetch::WorkerPool m_pool;
  ScriptedUpstream m_upstream;
  Service m_service;
};

}  // namespace stoa::proxy::fakes
