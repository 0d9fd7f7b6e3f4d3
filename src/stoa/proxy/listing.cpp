#include "stoa/proxy/listing.hpp"

#include <algorithm>
#include <set>

#include "stoa/module/semver.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/proxy/info_json.hpp"

namespace stoa::proxy {

namespace semver = module::semver;

std::optional<InfoFields> parse_info(std::string_view json) {
  auto info = decode_rev_info(json);
  if (!info) return std::nullopt;
  return InfoFields{std::move(info->version), std::move(info->time)};
}

bool is_rfc3339(std::string_view s) { return module::parse_rfc3339(s).has_value(); }

std::string merge_list(std::string_view upstream, const std::vector<std::string>& stored) {
  struct Line {
    std::string version;
    std::string rest;  // " <time>" or empty
  };
  std::vector<Line> lines;
  std::set<std::string, std::less<>> seen;
  // Pseudo-versions are passed on from the upstream's list: the go command leaves them out of
  // the versions it chooses from, but computes @latest from them (and their time column) when
  // the upstream has no @latest (modfetch/proxy.go latestFromList). Stored ones are not added:
  // the upstream did not list them, and a client asking it would not see them either.
  auto add = [&](std::string_view version, std::string_view rest, bool from_upstream) {
    if (!semver::is_canonical(version)) return;
    if (!from_upstream && semver::is_pseudo(version)) return;
    if (!seen.emplace(version).second) return;
    lines.push_back({std::string(version), std::string(rest)});
  };
  while (!upstream.empty()) {
    const auto nl = upstream.find('\n');
    std::string_view line = upstream.substr(0, nl);
    upstream = nl == std::string_view::npos ? std::string_view{} : upstream.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto sp = line.find_first_of(" \t");
    const std::string_view version = line.substr(0, sp);
    // The optional second field is a time; anything else there (blanks only, control bytes, a
    // malformed time) is dropped rather than passed on (found by fuzz/info_json).
    std::string_view rest;
    if (sp != std::string_view::npos) {
      rest = line.substr(sp);
      const auto begin = rest.find_first_not_of(" \t");
      rest = begin == std::string_view::npos ? std::string_view{} : rest.substr(begin);
      rest = rest.substr(0, rest.find_first_of(" \t"));
      if (!is_rfc3339(rest)) rest = {};
    }
    add(version, rest, true);
  }
  for (const auto& v : stored) add(v, {}, false);
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    const int c = semver::compare(a.version, b.version);
    return c != 0 ? c < 0 : a.version < b.version;
  });
  std::string out;
  for (const auto& l : lines) {
    out += l.version;
    if (!l.rest.empty()) {
      out += ' ';
      out += l.rest;
    }
    out += '\n';
  }
  return out;
}

std::optional<std::string> pick_latest(const std::vector<std::string>& versions) {
  const std::string* best[3] = {nullptr, nullptr, nullptr};  // release, pre-release, pseudo
  for (const auto& v : versions) {
    if (!semver::is_valid(v)) continue;
    const int rank = semver::is_pseudo(v) ? 2 : semver::prerelease(v).empty() ? 0 : 1;
    if (best[rank] == nullptr || semver::compare(v, *best[rank]) > 0) best[rank] = &v;
  }
  for (const auto* b : best) {
    if (b != nullptr) return *b;
  }
  return std::nullopt;
}

}  // namespace stoa::proxy
