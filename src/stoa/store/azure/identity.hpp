#pragma once
// Managed identity: OAuth bearer tokens for Azure Storage from the instance metadata endpoint
// (IMDS) of an Azure VM, VM scale set or container host: a GET of
// "<endpoint>?api-version=2018-02-01&resource=https://storage.azure.com/[&client_id=<id>]" with
// the header "Metadata: true", answered with JSON {"access_token": ..., "expires_on": ...}.
// A token is cached and reused until five minutes before it expires; then the next caller
// fetches a new one (the others keep waiting on the same mutex, so one fetch serves them all).
// Thread-safe. The token never appears in errors.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/curl/pool.hpp"

namespace stoa::store::azure {

struct Token {
  std::string value;
  std::chrono::system_clock::time_point expires;
};

// The IMDS answer body: "access_token" (a string), and "expires_on" (seconds since the epoch)
// or else "expires_in" (seconds from `now`), each a number or a string of digits. Pure; nullopt
// when the body is not such an object.
std::optional<Token> parse_token(std::string_view body, std::chrono::system_clock::time_point now);

class ManagedIdentity {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  // `endpoint`: the token URL without a query. `clock`: the time (tests move it).
  ManagedIdentity(std::string endpoint, const std::string& client_id,
                  std::chrono::milliseconds connect_timeout, Clock clock);

  // A valid token (cached or fetched now). Throws StoreError when none can be had.
  std::string token();

  // How long before its expiry a cached token is replaced.
  static constexpr std::chrono::minutes k_refresh_margin{5};

 private:
  Token fetch();

  std::string m_url;
  std::chrono::milliseconds m_connect_timeout;
  Clock m_clock;
  curl::Pool m_pool;
  std::mutex m_mutex;
  std::optional<Token> m_cached;  // under m_mutex
};

}  // namespace stoa::store::azure
