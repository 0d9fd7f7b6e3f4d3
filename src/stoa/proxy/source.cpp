#include "stoa/proxy/source.hpp"

#include <utility>

namespace stoa::proxy {
namespace {

class UpstreamSource final : public Source {
 public:
  UpstreamSource(fetch::Upstream& up, std::string origin) : m_up(up), m_origin(std::move(origin)) {}

  std::string origin() const override { return m_origin; }
  bool owns(std::string_view /*module*/) const override { return false; }
  fetch::Outcome get(const std::string& key, fsio::TempFile& out, std::uint64_t max_bytes,
                     const fetch::Upstream::Headers& headers) override {
    return m_up.get(key, out, max_bytes, headers);
  }
  fetch::Outcome get(const std::string& key, std::string& out, std::uint64_t max_bytes,
                     const fetch::Upstream::Headers& headers) override {
    return m_up.get(key, out, max_bytes, headers);
  }

 private:
  fetch::Upstream& m_up;
  std::string m_origin;
};

}  // namespace

std::shared_ptr<Source> upstream_source(fetch::Upstream& up, std::string origin) {
  return std::make_shared<UpstreamSource>(up, std::move(origin));
}

}  // namespace stoa::proxy
