#pragma once
// The upstream stoa's proxy layer sees when direct fetching is on: per module, either the HTTP
// proxies (falling back to the direct source when the walk was exhausted and the configured list
// ends in "direct"), or the direct source alone for modules matching the private patterns.
// Thread-safe (both sources are).

#include <memory>
#include <string>

#include "stoa/fetch/upstream.hpp"

namespace stoa::direct {

struct RoutingOptions {
  // GOPRIVATE-style globs (module::match_prefix_patterns_folded): matching modules go to the
  // direct source only, never to an HTTP upstream.
  std::string private_patterns;
  // The upstream list ended in "direct": every other module goes to the HTTP proxies first and
  // then, when no proxy stopped the walk (Outcome::exhausted), to the direct source.
  bool fallback_direct = false;
};

// Which source a module's requests go to first.
enum class Route : std::uint8_t { proxy, direct };

// `proxy` may be null (the list was only "direct"): then every module goes direct.
// Suffixes that are not module requests (sumdb/...) always go to `proxy` (not_found without it).
// Both sources must outlive the result.
std::unique_ptr<fetch::Upstream> make_routing_upstream(fetch::Upstream* proxy,
                                                       fetch::Upstream& direct,
                                                       RoutingOptions options);

// The route of `module` (a decoded module path) under `options` with or without a proxy.
Route route_of(const RoutingOptions& options, bool have_proxy, std::string_view module);

}  // namespace stoa::direct
