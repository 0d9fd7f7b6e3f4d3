#include "stoa/direct/direct.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <variant>

#include "stoa/direct/subprocess.hpp"
#include "stoa/module/request.hpp"

namespace stoa::direct {

void RunningGroups::add(pid_t pgid) {
  std::lock_guard lock(m_mutex);
  m_groups.insert(pgid);
}
void RunningGroups::remove(pid_t pgid) {
  std::lock_guard lock(m_mutex);
  m_groups.erase(pgid);
}
std::set<pid_t> RunningGroups::snapshot() const {
  std::lock_guard lock(m_mutex);
  return m_groups;
}
bool RunningGroups::empty() const {
  std::lock_guard lock(m_mutex);
  return m_groups.empty();
}

namespace {

using fetch::Outcome;
using fetch::Status;
using module::Kind;

Outcome ok() { return {Status::ok, 200, false, {}, false}; }
Outcome not_found(std::string message) {
  return {Status::not_found, 404, false, std::move(message), true};
}
Outcome failed(std::string message, bool timed_out = false) {
  return {Status::failed, 0, timed_out, std::move(message), true};
}

// An empty directory for one run, removed (with anything the run left) when it goes.
class WorkDir {
 public:
  explicit WorkDir(const std::filesystem::path& root) {
    std::string tmpl = (root / "run-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    m_path = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

// Reads a whole small file; nullopt when absent, unreadable or over `max`.
std::optional<std::string> read_small(const std::filesystem::path& p, std::uint64_t max) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      if (n < 0) return std::nullopt;
      return out;
    }
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > max) {
      ::close(fd);
      return std::nullopt;
    }
  }
}

class DirectSource final : public fetch::Upstream {
 public:
  explicit DirectSource(DirectOptions o)
      : m_options(std::move(o)), m_env(build_env(m_options.env)) {
    if (m_options.max_running == 0) throw std::invalid_argument("direct: max_running must be >= 1");
    if (m_options.work_root.empty()) throw std::invalid_argument("direct: work_root is empty");
    m_download_root = std::filesystem::path(m_options.env.mod_cache) / "cache" / "download";
  }

  Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes,
              const Headers& /*request_headers*/) override {
    auto r = parse(suffix);
    if (!r) return failed("direct: refused request " + one_line(suffix, 200));
    if (!r->canonical || r->kind == Kind::list || r->kind == Kind::latest)
      return failed("direct: not a file request");
    if (auto neg = negative(suffix)) return not_found(*neg);

    const std::string ext = r->kind == Kind::info  ? ".info"
                            : r->kind == Kind::mod ? ".mod"
                                                   : ".zip";
    auto cached = m_download_root / r->escaped_module / "@v" / (r->escaped_version + ext);
    // The go command renames complete files into place; a zip is complete once its .ziphash is
    // there too. A module cache hit needs no subprocess at all.
    const bool complete =
        std::filesystem::exists(cached) &&
        (r->kind != Kind::zip || std::filesystem::exists(m_download_root / r->escaped_module /
                                                         "@v" / (r->escaped_version + ".ziphash")));
    if (!complete) {
      const auto res = go(suffix, download_args(r->module, r->version));
      if (res.timed_out) return failed("direct: go mod download timed out", true);
      const auto d = parse_download(res.out);
      if (!d) return failure(suffix, *r, res.err.empty() ? res.out : res.err);
      if (!d->error.empty()) return failure(suffix, *r, d->error);
      if (!res.ok()) return failure(suffix, *r, res.err);
      const std::string& file = r->kind == Kind::info  ? d->info
                                : r->kind == Kind::mod ? d->go_mod
                                                       : d->zip;
      // The go command names the file; it must be the one stoa expects in its own cache.
      if (file != cached.string())
        return failed("direct: go mod download named an unexpected file");
    }
    out.clear();
    if (r->kind == Kind::info) {
      const auto text = read_small(cached, max_bytes);
      const auto info = text ? parse_list(*text) : std::nullopt;
      if (!info || info->version != r->version)
        return failed("direct: unreadable .info in the module cache");
      out.write(info_body(info->version, info->time));
      return ok();
    }
    return copy(cached, out, max_bytes);
  }

  Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes,
              const Headers& /*request_headers*/) override {
    auto r = parse(suffix);
    if (!r) return failed("direct: refused request " + one_line(suffix, 200));
    if (r->canonical && r->kind != Kind::info) return failed("direct: not a metadata request");
    if (auto neg = negative(suffix)) return not_found(*neg);
    if (r->kind == Kind::info && r->canonical) {
      // A canonical .info asked into memory: same as the file.
      const auto res = go(suffix, download_args(r->module, r->version));
      const auto d = parse_download(res.out);
      if (res.timed_out) return failed("direct: go mod download timed out", true);
      if (!d) return failure(suffix, *r, res.err);
      if (!d->error.empty()) return failure(suffix, *r, d->error);
      const auto text = read_small(d->info, max_bytes);
      const auto info = text ? parse_list(*text) : std::nullopt;
      if (!info) return failed("direct: unreadable .info in the module cache");
      out = info_body(info->version, info->time);
      return ok();
    }
    const bool list = r->kind == Kind::list;
    const auto res = go(suffix, list ? versions_args(r->module)
                                     : query_args(r->module, r->kind == Kind::latest
                                                                 ? std::string_view("latest")
                                                                 : std::string_view(r->version)));
    if (res.timed_out) return failed("direct: go list timed out", true);
    const auto m = parse_list(res.out);
    if (!m) return failure(suffix, *r, res.err.empty() ? res.out : res.err);
    if (!m->error.empty()) return failure(suffix, *r, m->error);
    if (!res.ok()) return failure(suffix, *r, res.err);
    out = list ? list_body(m->versions) : info_body(m->version, m->time);
    if (out.size() > max_bytes) return failed("direct: answer too large");
    return ok();
  }

 private:
  static std::optional<module::Request> parse(const std::string& suffix) {
    if (suffix.starts_with("sumdb/")) return std::nullopt;
    auto parsed = module::parse_request("/" + suffix);
    if (auto* r = std::get_if<module::Request>(&parsed)) {
      // The round trip must be exact: nothing that was not already canonical gets through.
      if (module::key_of(*r) != suffix) return std::nullopt;
      return std::move(*r);
    }
    return std::nullopt;
  }

  Outcome failure(const std::string& key, const module::Request& r, std::string_view text) {
    std::string line = one_line(text);
    // The proxy layer names the module and version itself: drop the go command's own naming.
    if (line.starts_with("go: ")) line.erase(0, 4);
    const std::string at =
        r.module + "@" + (r.kind == Kind::latest ? std::string("latest") : r.version) + ": ";
    if (line.starts_with(at)) line.erase(0, at.size());
    switch (classify(text, r.module, r.version)) {
      case ErrorKind::not_found:
        remember_absent(key, line, m_options.negative_ttl);
        return not_found(line);
      case ErrorKind::no_repository:
        // Often a name that does not resolve here, or a lookup page that is down for now: as
        // "does not exist" for the go command, but remembered briefly.
        remember_absent(key, line, std::min(m_options.negative_ttl, k_no_repository_ttl));
        return not_found(line);
      case ErrorKind::failed:
        break;
    }
    return failed("direct: " + line);
  }

  Outcome copy(const std::filesystem::path& from, fsio::TempFile& out, std::uint64_t max_bytes) {
    const int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failed("direct: cannot open a file of the module cache");
    std::array<char, 1 << 16> buf{};
    std::uint64_t total = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        return failed("direct: cannot read a file of the module cache");
      }
      if (n == 0) break;
      total += static_cast<std::uint64_t>(n);
      if (total > max_bytes) {
        ::close(fd);
        return failed("direct: file over the size limit");
      }
      try {
        out.write(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      } catch (...) {
        ::close(fd);
        throw;
      }
    }
    ::close(fd);
    return ok();
  }

  RunResult go(const std::string& key, std::vector<std::string> args) {
    Slot slot(*this);
    WorkDir wd(m_options.work_root);
    Command cmd{m_options.go_binary, std::move(args), m_env, wd.path()};
    const auto t0 = std::chrono::steady_clock::now();
    RunResult res;
    try {
      res = run(
          cmd, m_options.timeout, m_options.max_output,
          [this](pid_t p) {
            if (m_options.running) m_options.running->add(p);
          },
          [this](pid_t p) {
            if (m_options.running) m_options.running->remove(p);
          });
    } catch (const std::system_error& e) {
      res.exit_code = -1;
      res.err = std::string("go: cannot start the go command: ") + e.code().message();
    }
    if (m_options.on_run) {
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - t0);
      std::string message = "ok";
      if (res.timed_out) {
        message = "timed out";
      } else if (!res.ok()) {
        // The go command's -json output carries the error itself; stderr otherwise.
        const auto d = parse_download(res.out);
        const auto l = d ? std::nullopt : parse_list(res.out);
        message = one_line(d && !d->error.empty()   ? d->error
                           : l && !l->error.empty() ? l->error
                                                    : res.err);
      }
      m_options.on_run(key, took, res.ok(), message);
    }
    return res;
  }

  // A slot among max_running.
  struct Slot {
    DirectSource& s;
    explicit Slot(DirectSource& src) : s(src) {
      std::unique_lock lock(s.m_slot_mutex);
      s.m_slot_cv.wait(lock, [&] { return s.m_running < s.m_options.max_running; });
      ++s.m_running;
    }
    ~Slot() {
      {
        std::lock_guard lock(s.m_slot_mutex);
        --s.m_running;
      }
      s.m_slot_cv.notify_one();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
  };

  std::optional<std::string> negative(const std::string& key) {
    std::lock_guard lock(m_neg_mutex);
    const auto it = m_negative.find(key);
    if (it == m_negative.end()) return std::nullopt;
    if (m_options.now() >= it->second.expires) {
      m_negative.erase(it);
      return std::nullopt;
    }
    return it->second.message;
  }

  void remember_absent(const std::string& key, const std::string& message,
                       std::chrono::milliseconds ttl) {
    if (ttl.count() <= 0) return;
    const auto now = m_options.now();
    std::lock_guard lock(m_neg_mutex);
    if (m_negative.size() >= k_max_negative) {
      std::erase_if(m_negative, [&](const auto& kv) { return now >= kv.second.expires; });
      if (m_negative.size() >= k_max_negative) m_negative.clear();
    }
    m_negative.insert_or_assign(key, Absent{message, now + ttl});
  }

  static constexpr std::size_t k_max_negative = 10'000;
  static constexpr std::chrono::milliseconds k_no_repository_ttl{5'000};
  struct Absent {
    std::string message;
    std::chrono::steady_clock::time_point expires;
  };

  DirectOptions m_options;
  std::vector<std::string> m_env;
  std::filesystem::path m_download_root;
  std::mutex m_slot_mutex;
  std::condition_variable m_slot_cv;
  std::size_t m_running = 0;
  std::mutex m_neg_mutex;
  std::unordered_map<std::string, Absent> m_negative;
};

}  // namespace

std::unique_ptr<fetch::Upstream> make_direct_source(DirectOptions options) {
  return std::make_unique<DirectSource>(std::move(options));
}

}  // namespace stoa::direct
