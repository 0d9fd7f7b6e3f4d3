#pragma once
// A limit on failed logins per client address: after `max_failures` failed credential checks
// from one address within `window`, that address is refused (blocked() tells for how long) until
// the window that began with its first counted failure ends. Successful logins neither count nor
// reset the count (else one valid account would reset a guesser's budget).
//
// Addresses: an IPv4 address (also in IPv4-mapped IPv6 form) is one client; an IPv6 address is
// counted by its /64 prefix (one host usually holds a whole /64). An empty address (a client on
// the unix socket) is never limited: behind a reverse proxy every client has it.
//
// Memory is bounded: at most `max_tracked` addresses are remembered; a new one evicts the one
// whose window began first. The clock is the caller's (`now`), so tests need no sleeps.
// Thread-safe.

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stoa::policy {

struct LoginLimitOptions {
  std::size_t max_failures = 10;  // 0: no limit
  std::chrono::seconds window{60};
  std::size_t max_tracked = 16384;
};

class LoginLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoginLimit(LoginLimitOptions options);
  LoginLimit(const LoginLimit&) = delete;
  LoginLimit& operator=(const LoginLimit&) = delete;

  // How long `address` is still refused (at least one second, rounded up); nullopt when it may
  // try credentials now.
  std::optional<std::chrono::seconds> blocked(std::string_view address, Clock::time_point now);

  // Counts one failed credential check from `address`.
  void failed(std::string_view address, Clock::time_point now);

  bool enabled() const { return m_options.max_failures > 0; }
  std::size_t tracked() const;  // addresses remembered now

 private:
  struct Entry {
    Clock::time_point start;  // first failure counted in the current window
    std::size_t failures = 0;
    std::list<std::string>::iterator order;  // position in m_order
  };

  LoginLimitOptions m_options;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, Entry> m_entries;
  std::list<std::string> m_order;  // keys by window start, oldest first
};

// The key an address is counted under (see above); "" when it is never limited.
std::string login_limit_key(std::string_view address);

}  // namespace stoa::policy
