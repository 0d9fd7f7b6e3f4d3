#include "stoa/web/vulns.hpp"

#include "stoa/module/semver.hpp"

namespace stoa::web {

bool affects(const vulndb::Range& r, std::string_view version) {
  bool affected = false;
  for (const auto& e : r.events) {
    const std::string v = e.version == "0" ? std::string() : "v" + e.version;
    using Kind = vulndb::Event::Kind;
    if (e.kind == Kind::introduced && (v.empty() || module::semver::compare(version, v) >= 0)) {
      affected = true;
    } else if ((e.kind == Kind::fixed && module::semver::compare(version, v) >= 0) ||
               (e.kind == Kind::last_affected && module::semver::compare(version, v) > 0)) {
      affected = false;
    }
  }
  return affected;
}

std::string describe(const vulndb::Affected& a) {
  std::string out;
  for (const auto& r : a.ranges) {
    for (const auto& e : r.events) {
      using Kind = vulndb::Event::Kind;
      const char* word = e.kind == Kind::introduced      ? "introduced in "
                         : e.kind == Kind::fixed         ? "fixed in "
                         : e.kind == Kind::last_affected ? "last affected "
                                                         : "up to ";
      if (e.kind == Kind::introduced && e.version == "0") continue;
      if (!out.empty()) out += ", ";
      out += word;
      out += "v" + e.version;
    }
  }
  return out.empty() ? "all versions" : out;
}

}  // namespace stoa::web
