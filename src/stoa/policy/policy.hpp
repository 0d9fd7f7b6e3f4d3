#pragma once
// The policy in force: rules, credentials and the per-rule upstreams, as one immutable snapshot
// that is swapped whole on reload (SIGHUP, or a changed file noticed by reload_if_changed()).
// A request holds the snapshot it started with (a shared_ptr) until it is answered.
//
// Thread-safety: Policy::current() and reload*() may be called from any thread; a Snapshot is
// immutable (Credentials::authenticate is internally synchronized).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fetch/upstream.hpp"
#include "stoa/policy/auth.hpp"
#include "stoa/policy/rules.hpp"

namespace stoa::policy {

struct Decision {
  enum class Access : std::uint8_t {
    allowed,
    unauthenticated,  // restricted, and no (or wrong) credentials: 401
    hidden,           // authenticated but not a reader: answered as if the module did not exist
  };
  Action action = Action::cache;
  const Rule* rule = nullptr;  // nullptr: no rule matched; valid while the snapshot lives
  Access access = Access::allowed;
  std::string principal;              // who, when credentials were checked and valid
  fetch::Upstream* source = nullptr;  // the rule's own `upstream` (nullptr: none)
};

class Snapshot {
 public:
  RuleSet rules;
  std::unique_ptr<Credentials> credentials = std::make_unique<Credentials>();
  std::vector<std::unique_ptr<fetch::Upstream>> sources;  // by rule index; null where none

  // `version` is the canonical version the request names, or "".
  Decision decide(std::string_view module, std::string_view version,
                  std::string_view authorization) const;
  // decide() for a client whose credentials were checked once already (`who`, from
  // credentials->authenticate()): the same decision, without a check per call. For answers
  // about many modules to one client (/index, /catalog).
  Decision decide_as(std::string_view module, std::string_view version,
                     const AuthResult& who) const;
  // Whether decide() checks `authorization` at all: credentials were sent and the module's rule
  // is restricted (elsewhere they are ignored).
  bool checks_credentials(std::string_view module, std::string_view version,
                          std::string_view authorization) const;
  // Whether decide() would run a bcrypt check (see Credentials::is_slow).
  bool needs_slow_check(std::string_view module, std::string_view version,
                        std::string_view authorization) const;
  // Whether `principal` may read modules of `rule` (readers semantics in rules.hpp).
  bool may_read(const Rule& rule, const std::string& principal) const;
};

// Whether a client given `d` for module@version gets that version's files from this proxy:
// access allowed, and an action that serves them (every action but deny and redirect). What
// /index and /catalog may list to the client.
bool serves_files(const Decision& d);

struct PolicyFiles {
  std::string rules_file;   // TOML with [[rule]] and [groups]; "" when none
  std::string users_file;   // htpasswd-style; "" when none
  std::string tokens_file;  // name + sha256; "" when none
};

// Builds the upstream of a rule's `upstream` list; throws std::runtime_error when the list is
// malformed.
using SourceFactory = std::function<std::unique_ptr<fetch::Upstream>(const std::string& list)>;

class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and checks every file. Throws LoadError with one clear message. A private rule needs
// credentials to be configured (a users or tokens file), since only authenticated clients may
// read it.
std::shared_ptr<const Snapshot> load(const PolicyFiles& files, const SourceFactory& make_source);

class Policy {
 public:
  // Loads now (throws LoadError).
  Policy(PolicyFiles files, SourceFactory make_source);
  // A fixed snapshot that never reloads (tests, and no files configured).
  explicit Policy(std::shared_ptr<const Snapshot> fixed);

  std::shared_ptr<const Snapshot> current() const;
  // True when the current snapshot has no rule: every request is `cache` and nobody needs to
  // authenticate. Lock-free (one atomic load), for the hot path of every request.
  bool no_rules() const { return m_no_rules.load(std::memory_order_acquire); }
  // Re-reads every file; on failure the old snapshot stays and the error is returned.
  std::optional<std::string> reload();
  // reload() when a file's identity, size or modification time changed since the last
  // (attempted) load; `reloaded` tells whether it tried. Cheap: one stat(2) per file.
  std::optional<std::string> reload_if_changed(bool* reloaded = nullptr);
  const PolicyFiles& files() const { return m_files; }

 private:
  std::string fingerprint() const;
  PolicyFiles m_files;
  SourceFactory m_make_source;
  mutable std::mutex m_mutex;
  std::shared_ptr<const Snapshot> m_current;
  std::atomic<bool> m_no_rules{true};
  std::string m_fingerprint;
};

}  // namespace stoa::policy
