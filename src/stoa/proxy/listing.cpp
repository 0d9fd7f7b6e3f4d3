#include "stoa/proxy/listing.hpp"

#include <algorithm>
#include <set>
#include <utility>

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

std::string merge_list(std::string_view upstream, const std::vector<std::string>& stored) {
  struct Line {
    std::string version;
    std::string time;  // empty when the line has none
  };
  std::vector<Line> lines;
  std::set<std::string, std::less<>> listed;  // versions in `lines`
  std::set<std::string, std::less<>> seen;    // "<version> <time>" of the upstream's lines
  // Each upstream line is read as the go command reads it (modfetch/proxy.go: Versions and
  // latestFromList): its fields split on white space; the first a valid semantic version,
  // canonical or not ("v1.2" is kept: the go command lists it and asks v1.2.info for it), a
  // pseudo-version included (the go command computes @latest from them and their time when
  // the upstream has none); the optional second field a time. The upstream's order is kept:
  // the go command sorts the versions itself, and among pseudo-versions of the same time it
  // takes the first line as latest.
  while (!upstream.empty()) {
    const auto nl = upstream.find('\n');
    std::string_view fields = upstream.substr(0, nl);
    const std::string_view version = module::next_field(fields);
    const std::string_view time = module::next_field(fields);
    upstream = nl == std::string_view::npos ? std::string_view{} : upstream.substr(nl + 1);
    if (!semver::is_valid(version)) continue;
    Line line{std::string(version), {}};
    if (!time.empty()) {
      if (module::parse_rfc3339(time)) {
        // Passed on as it is: the go command then reads it as it would from the upstream.
        line.time = time;
      } else if (semver::is_pseudo(version)) {
        // The go command never picks a pseudo-version whose time it cannot parse; without the
        // time it would derive one from the version. So the line goes, not only the time.
        continue;
      }
      // A release's second field that is no time goes: the go command skips a release without
      // a time and one whose time it cannot parse alike.
    }
    // Identical lines once; the same version with another time stays (the go command takes
    // the newest time of a version).
    if (!seen.emplace(line.version + ' ' + line.time).second) continue;
    listed.insert(line.version);
    lines.push_back(std::move(line));
  }
  // Stored versions the upstream did not list, after its lines and sorted: canonical releases
  // and pre-releases only (a stored pseudo-version is not added: a client asking the upstream
  // would not see it either). They have no time, so they never change the go command's choice
  // of latest from the list.
  std::vector<Line> added;
  for (const auto& v : stored) {
    if (semver::is_canonical(v) && !semver::is_pseudo(v) && listed.insert(v).second) {
      added.push_back({v, {}});
    }
  }
  std::sort(added.begin(), added.end(), [](const Line& a, const Line& b) {
    // "v2.0.0" and "v2.0.0+incompatible" are equal to semver: the bytes decide.
    const int c = semver::compare(a.version, b.version);
    return c != 0 ? c < 0 : a.version < b.version;
  });
  lines.insert(lines.end(), std::make_move_iterator(added.begin()),
               std::make_move_iterator(added.end()));
  std::string out;
  for (const auto& l : lines) {
    out += l.version;
    if (!l.time.empty()) {
      out += ' ';
      out += l.time;
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
