#include "stoa/proxy/file_fetch.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <utility>

#include "stoa/modzip/modzip.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/validate.hpp"

namespace stoa::proxy {

using module::Kind;
using Status = FetchResult::Status;

namespace {

constexpr std::uint64_t k_max_info_bytes = 64 << 10;

std::uint64_t limit_of(Kind k) {
  return k == Kind::zip   ? modzip::k_max_zip_bytes
         : k == Kind::mod ? modzip::k_max_go_mod_bytes
                          : k_max_info_bytes;
}

}  // namespace

std::optional<std::string> staged_problem(const module::Request& r, const fsio::TempFile& staged,
                                          std::string& zip_h1) {
  if (r.kind == Kind::info || r.kind == Kind::mod) {
    std::string body(staged.size(), '\0');
    if (::pread(staged.fd(), body.data(), body.size(), 0) != static_cast<ssize_t>(body.size())) {
      return "cannot read the staged file";
    }
    // What the go command would refuse is never stored (validate.hpp).
    return r.kind == Kind::info ? info_problem(body, r.version) : go_mod_problem(body);
  }
  const modzip::ZipCheck check = modzip::check_zip(staged.path().string(), r.module, r.version);
  zip_h1 = check.h1;
  if (!check.ok()) return "invalid module zip: " + check.problems.front();
  return std::nullopt;
}

FileFetch::FileFetch(FileFetchOptions options, store::Store& store, ChecksumGate& checksums,
                     IndexRecorder& recorder, const trace::Tracer& tracer, ServiceMetrics& metrics,
                     std::shared_ptr<spdlog::logger> log)
    : m_options(std::move(options)),
      m_store(store),
      m_checksums(checksums),
      m_recorder(recorder),
      m_tracer(tracer),
      m_metrics(metrics),
      m_log(std::move(log)) {}

FetchResult FileFetch::run(const module::Request& r, const FetchContext& ctx,
                           const SourceChain& sources, Mode mode, std::uint64_t& bytes) {
  const std::string key = module::key_of(r);
  const auto started = std::chrono::steady_clock::now();
  trace::Span span = m_tracer.start_span("upstream.fetch", &ctx.trace, trace::Kind::client);
  span.set_attribute("stoa.key", key);
  fsio::TempFile staged;
  try {
    staged = mode == Mode::passthrough ? fsio::TempFile::create(m_options.scratch_dir, "pass-")
                                       : m_store.stage();
  } catch (const std::exception& e) {
    m_log->error("cannot stage {}: {}", key, e.what());
    return {Status::store_error, {}, {}, {}};
  }
  const auto got = sources.get(r.module, key, staged, limit_of(r.kind), ctx.headers(span));
  FetchResult res = result_of(got.outcome);
  bytes = staged.size();
  span.set_attribute("stoa.bytes", static_cast<std::int64_t>(bytes));
  if (res.status != Status::ok) {
    if (res.status != Status::not_found) {
      span.set_status(trace::StatusCode::error, res.message);
      m_log->warn("upstream fetch {} failed: {}", key, res.message);
    }
    return res;
  }
  std::string zip_h1;
  if (auto problem = staged_problem(r, staged, zip_h1)) {
    m_log->error("refusing {} from upstream: {}", key, *problem);
    span.set_status(trace::StatusCode::error, *problem);
    return {Status::invalid, std::move(*problem), {}, {}};
  }
  if (r.kind == Kind::zip) {
    if (auto refused = ask_validator(r, staged.size(), zip_h1)) return std::move(*refused);
  }
  // The go.sum hash of what will be stored, checked against the checksum database.
  const std::string h1 = r.kind == Kind::zip   ? zip_h1
                         : r.kind == Kind::mod ? modzip::hash_go_mod_file(staged.path().string())
                                               : std::string();
  if (mode == Mode::private_) {
    m_checksums.skipped();  // private paths never reach a checksum database
  } else if (!h1.empty()) {
    if (auto refused = m_checksums.check(r, h1, span.context())) return std::move(*refused);
  }
  if (mode == Mode::passthrough) {
    m_log->info("passed through {} ({} bytes, not stored)", key, staged.size());
    return pass(std::move(staged));
  }
  return commit(r, std::move(staged), h1, got.origin, started);
}

std::optional<FetchResult> FileFetch::ask_validator(const module::Request& r, std::uint64_t size,
                                                    const std::string& h1) {
  if (m_options.validator == nullptr) return std::nullopt;
  const std::string key = module::key_of(r);
  const auto v = m_options.validator->check({r.module, r.version, "zip", size, h1});
  using Decision = fetch::ValidationVerdict::Decision;
  if (v.decision == Decision::deny) {
    m_log->warn("validator denied {}: {}", key, v.reason);
    return FetchResult{Status::forbidden, "denied by policy: " + v.reason, {}, {}};
  }
  if (v.decision == Decision::error) {
    if (!m_options.validator_allows_on_error) {
      m_log->error("validator failed for {}: {}; refusing for now", key, v.reason);
      return FetchResult{Status::unavailable, {}, {}, {}};
    }
    m_log->warn("validator failed for {}: {}; storing anyway (validator_failure = allow)", key,
                v.reason);
  }
  return std::nullopt;
}

FetchResult FileFetch::pass(fsio::TempFile staged) {
  auto passed = std::make_shared<FetchResult::PassedFile>();
  passed->fd = fsio::UniqueFd(::dup(staged.fd()));
  passed->size = staged.size();
  if (!passed->fd) return {Status::store_error, "dup of a passthrough download", {}, {}};
  const auto path = staged.release();  // closes its descriptor; ours stays open
  (void)::unlink(path.c_str());
  FetchResult ok{Status::ok, {}, {}, {}};
  ok.file = std::move(passed);
  return ok;
}

FetchResult FileFetch::commit(const module::Request& r, fsio::TempFile staged,
                              const std::string& h1, const std::string& origin,
                              std::chrono::steady_clock::time_point started) {
  const std::string key = module::key_of(r);
  const std::uint64_t size = staged.size();
  bool committed = false;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    committed = m_store.put(key, std::move(staged));
  } catch (const store::DerivedFileError& e) {
    // The file is stored: answer with it, and let the list converge later.
    committed = true;
    m_metrics.derived.with({"list", "failed"}).inc();
    m_log->error("stored {} but not its list: {}", key, e.what());
  } catch (const store::StoreError& e) {
    m_log->error("cannot store {}: {}", key, e.what());
    return {Status::store_error, {}, {}, {}};
  }
  const auto t1 = std::chrono::steady_clock::now();
  m_metrics.store_put_seconds.observe(std::chrono::duration<double>(t1 - t0).count());
  m_log->info("{} {} ({} bytes, {} ms)", committed ? "stored" : "already stored", key, size,
              std::chrono::duration_cast<std::chrono::milliseconds>(t1 - started).count());
  if (committed) {
    m_committed_objects.fetch_add(1);
    m_committed_bytes.fetch_add(size);
    m_recorder.record(r, h1, size, origin);
    if (!h1.empty()) record_hash(r, h1);
  }
  return {Status::ok, {}, {}, {}};
}

void FileFetch::record_hash(const module::Request& r, const std::string& h1) {
  const std::string key = r.escaped_module + "/@v/" + r.escaped_version +
                          (r.kind == Kind::zip ? ".ziphash" : ".modhash");
  try {
    put_bytes(m_store, key, h1 + "\n");
  } catch (const store::StoreError& e) {
    m_metrics.derived.with({"hash", "failed"}).inc();
    m_log->error("cannot record {} (`stoa verify --repair` writes it): {}", key, e.what());
  }
}

}  // namespace stoa::proxy
