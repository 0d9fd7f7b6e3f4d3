#include "stoa/policy/policy.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace stoa::policy {
namespace {

std::string read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(fmt::format("{} {}: cannot read it", what, path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw LoadError(fmt::format("{} {}: read error", what, path));
  return ss.str();
}

}  // namespace

bool Snapshot::may_read(const Rule& rule, const std::string& principal) const {
  if (rule.readers.empty()) return true;  // any authenticated client (or anyone, if open)
  for (const auto& r : rule.readers) {
    if (r == "*" || r == principal) return true;
    if (r.starts_with("@")) {
      const auto g = rules.groups.find(std::string_view(r).substr(1));
      if (g != rules.groups.end() &&
          std::find(g->second.begin(), g->second.end(), principal) != g->second.end()) {
        return true;
      }
    }
  }
  return false;
}

bool Snapshot::checks_credentials(std::string_view module, std::string_view version,
                                  std::string_view authorization) const {
  if (authorization.empty()) return false;
  const Rule* r = rules.match(module, version);
  return r != nullptr && r->restricted();
}

bool Snapshot::needs_slow_check(std::string_view module, std::string_view version,
                                std::string_view authorization) const {
  if (authorization.empty()) return false;
  const Rule* r = rules.match(module, version);
  return r != nullptr && r->restricted() && credentials->is_slow(authorization);
}

namespace {

// The decision before access: which rule, action and source.
Decision route(const Snapshot& s, std::string_view module, std::string_view version) {
  Decision d;
  d.rule = s.rules.match(module, version);
  if (d.rule == nullptr) return d;
  d.action = d.rule->action;
  if (d.rule->index < s.sources.size()) d.source = s.sources[d.rule->index].get();
  return d;
}

// The access of a client who authenticated as `a` to a restricted rule's module.
void restrict_to(const Snapshot& s, Decision& d, const AuthResult& a) {
  if (a.status != AuthResult::Status::ok) {
    d.access = Decision::Access::unauthenticated;
    return;
  }
  d.principal = a.principal;
  if (!s.may_read(*d.rule, a.principal)) d.access = Decision::Access::hidden;
}

}  // namespace

bool serves_files(const Decision& d) {
  return d.access == Decision::Access::allowed && d.action != Action::deny &&
         d.action != Action::redirect;
}

Decision Snapshot::decide(std::string_view module, std::string_view version,
                          std::string_view authorization) const {
  Decision d = route(*this, module, version);
  // Credentials are checked only where they matter (a bcrypt check is slow).
  if (d.rule != nullptr && d.rule->restricted())
    restrict_to(*this, d, credentials->authenticate(authorization));
  return d;
}

Decision Snapshot::decide_as(std::string_view module, std::string_view version,
                             const AuthResult& who) const {
  Decision d = route(*this, module, version);
  if (d.rule != nullptr && d.rule->restricted()) restrict_to(*this, d, who);
  return d;
}

std::shared_ptr<const Snapshot> load(const PolicyFiles& files, const SourceFactory& make_source) {
  auto snap = std::make_shared<Snapshot>();
  if (!files.rules_file.empty()) {
    auto parsed = parse_rules(read_file(files.rules_file, "rules"), files.rules_file);
    if (auto* e = std::get_if<ParseError>(&parsed)) throw LoadError(e->message);
    snap->rules = std::move(std::get<RuleSet>(parsed));
  }
  const std::string users =
      files.users_file.empty() ? "" : read_file(files.users_file, "users_file");
  const std::string tokens =
      files.tokens_file.empty() ? "" : read_file(files.tokens_file, "tokens_file");
  auto creds = Credentials::parse(users, files.users_file, tokens, files.tokens_file);
  if (auto* e = std::get_if<std::string>(&creds)) throw LoadError(*e);
  snap->credentials = std::move(std::get<std::unique_ptr<Credentials>>(creds));
  for (const auto& r : snap->rules.rules) {
    if (r.restricted() && snap->credentials->empty()) {
      throw LoadError(fmt::format(
          "{}: rule {:?} restricts readers ({}) but no users_file or tokens_file is configured, "
          "so nobody could read it",
          files.rules_file, r.name, r.action == Action::private_ ? "private" : "readers"));
    }
    if (!r.upstream.empty()) {
      snap->sources.resize(snap->rules.rules.size());
      try {
        snap->sources[r.index] = make_source(r.upstream);
      } catch (const std::exception& e) {
        throw LoadError(
            fmt::format("{}: rule {:?}: upstream: {}", files.rules_file, r.name, e.what()));
      }
    }
  }
  return snap;
}

Policy::Policy(PolicyFiles files, SourceFactory make_source)
    : m_files(std::move(files)), m_make_source(std::move(make_source)) {
  m_fingerprint = fingerprint();
  m_current = load(m_files, m_make_source);
  m_no_rules.store(m_current->rules.rules.empty());
}

Policy::Policy(std::shared_ptr<const Snapshot> fixed) : m_current(std::move(fixed)) {
  m_no_rules.store(m_current->rules.rules.empty());
}

std::shared_ptr<const Snapshot> Policy::current() const {
  std::lock_guard lock(m_mutex);
  return m_current;
}

std::string Policy::fingerprint() const {
  std::string fp;
  for (const auto* f : {&m_files.rules_file, &m_files.users_file, &m_files.tokens_file}) {
    struct stat st {};
    if (f->empty()) {
      fp += "-;";
    } else if (::stat(f->c_str(), &st) != 0) {
      fp += "missing;";
    } else {
      fp += fmt::format("{}:{}:{}:{}.{};", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec);
    }
  }
  return fp;
}

std::optional<std::string> Policy::reload() {
  if (!m_make_source) return std::nullopt;  // fixed
  const std::string fp = fingerprint();
  std::shared_ptr<const Snapshot> next;
  try {
    next = load(m_files, m_make_source);
  } catch (const LoadError& e) {
    std::lock_guard lock(m_mutex);
    m_fingerprint = fp;
    return std::string(e.what());
  }
  std::lock_guard lock(m_mutex);
  m_fingerprint = fp;
  m_no_rules.store(next->rules.rules.empty(), std::memory_order_release);
  m_current = std::move(next);
  return std::nullopt;
}

std::optional<std::string> Policy::reload_if_changed(bool* reloaded) {
  if (reloaded != nullptr) *reloaded = false;
  if (!m_make_source) return std::nullopt;
  {
    const std::string fp = fingerprint();
    std::lock_guard lock(m_mutex);
    if (fp == m_fingerprint) return std::nullopt;
  }
  if (reloaded != nullptr) *reloaded = true;
  return reload();
}

}  // namespace stoa::policy
