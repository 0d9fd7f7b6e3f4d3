#include "stoa/direct/routing.hpp"

#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"

namespace stoa::direct {
namespace {

// The decoded module path of a storage-key suffix, "" when it is not a module request.
std::string module_of(const std::string& suffix) {
  if (suffix.starts_with("sumdb/")) return {};
  auto end = suffix.find("/@v/");
  if (end == std::string::npos) end = suffix.find("/@latest");
  if (end == std::string::npos) return {};
  return module::unescape_path(std::string_view(suffix).substr(0, end)).value_or("");
}

class Routing final : public fetch::Upstream {
 public:
  Routing(fetch::Upstream* proxy, fetch::Upstream& direct, RoutingOptions o)
      : m_proxy(proxy), m_direct(direct), m_options(std::move(o)) {}

  fetch::Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes,
                     const Headers& headers) override {
    return walk(suffix, [&](fetch::Upstream& u) {
      out.clear();
      return u.get(suffix, out, max_bytes, headers);
    });
  }
  fetch::Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes,
                     const Headers& headers) override {
    return walk(suffix, [&](fetch::Upstream& u) {
      out.clear();
      return u.get(suffix, out, max_bytes, headers);
    });
  }

 private:
  template <class F>
  fetch::Outcome walk(const std::string& suffix, F&& one) {
    const std::string module = module_of(suffix);
    if (module.empty()) {
      if (m_proxy == nullptr) return {fetch::Status::not_found, 404, false, "not found", true};
      return one(*m_proxy);
    }
    if (route_of(m_options, m_proxy != nullptr, module) == Route::direct) return one(m_direct);
    fetch::Outcome o = one(*m_proxy);
    if (o.status != fetch::Status::ok && o.exhausted && m_options.fallback_direct)
      return one(m_direct);
    return o;
  }

  fetch::Upstream* m_proxy;
  fetch::Upstream& m_direct;
  RoutingOptions m_options;
};

}  // namespace

Route route_of(const RoutingOptions& options, bool have_proxy, std::string_view module) {
  if (!have_proxy) return Route::direct;
  if (module::match_prefix_patterns_folded(options.private_patterns, module)) return Route::direct;
  return Route::proxy;
}

std::unique_ptr<fetch::Upstream> make_routing_upstream(fetch::Upstream* proxy,
                                                       fetch::Upstream& direct,
                                                       RoutingOptions options) {
  return std::make_unique<Routing>(proxy, direct, std::move(options));
}

}  // namespace stoa::direct
