#pragma once
// The fetch of a version's file (.info, .mod or .zip of a canonical version), one stage after
// the other, nothing visible before the last:
//   stage (a temp file in the store, or in scratch_dir for passthrough)
//   -> fetch from the module's sources (source.hpp)
//   -> validate (what the go command would refuse is refused: validate.hpp, modzip/, and the
//      validator hook for new zips)
//   -> checksum gate (checksum_gate.hpp; not for private modules)
//   -> commit to the store (passthrough: kept as an unlinked file, served, never stored)
//   -> record (the index, and the .ziphash/.modhash beside the file).
// Thread-safe; run() blocks (run it on a worker).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "stoa/fetch/validator.hpp"
#include "stoa/module/request.hpp"
#include "stoa/proxy/checksum_gate.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/flights.hpp"
#include "stoa/proxy/index_recorder.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/proxy/source.hpp"
#include "stoa/store/store.hpp"
#include "stoa/trace/tracer.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

struct FileFetchOptions {
  // Asked before a new zip is stored (nullptr: none). When it cannot answer, the zip is refused
  // (503) unless validator_allows_on_error.
  fetch::Validator* validator = nullptr;
  bool validator_allows_on_error = false;
  std::filesystem::path scratch_dir;  // where passthrough downloads are staged
};

// What the go command would refuse in a staged .info or .mod of `r`, or a .zip that breaks the
// module zip rules; nullopt when acceptable. `zip_h1` is set to a zip's go.sum hash. Blocking
// (reads the file), never throws for bad content.
std::optional<std::string> staged_problem(const module::Request& r, const fsio::TempFile& staged,
                                          std::string& zip_h1);

class FileFetch {
 public:
  // Everything must outlive this.
  FileFetch(FileFetchOptions options, store::Store& store, ChecksumGate& checksums,
            IndexRecorder& recorder, const trace::Tracer& tracer, ServiceMetrics& metrics,
            std::shared_ptr<spdlog::logger> log);

  // Fetches `r` from `sources` and stores it (Mode::cache, private_) or keeps it aside
  // (passthrough: FetchResult::file). `bytes` is set to what the sources sent.
  FetchResult run(const module::Request& r, const FetchContext& ctx, const SourceChain& sources,
                  Mode mode, std::uint64_t& bytes);

  std::uint64_t committed_objects() const { return m_committed_objects.load(); }
  std::uint64_t committed_bytes() const { return m_committed_bytes.load(); }

 private:
  // The validator hook's verdict on a new zip: nullopt to go on, else the refusal.
  std::optional<FetchResult> ask_validator(const module::Request& r, std::uint64_t size,
                                           const std::string& h1);
  static FetchResult pass(fsio::TempFile staged);
  FetchResult commit(const module::Request& r, fsio::TempFile staged, const std::string& h1,
                     const std::string& origin, std::chrono::steady_clock::time_point started);
  void record_hash(const module::Request& r, const std::string& h1);

  FileFetchOptions m_options;
  store::Store& m_store;
  ChecksumGate& m_checksums;
  IndexRecorder& m_recorder;
  const trace::Tracer& m_tracer;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
  std::atomic<std::uint64_t> m_committed_objects{0};
  std::atomic<std::uint64_t> m_committed_bytes{0};
};

}  // namespace stoa::proxy
