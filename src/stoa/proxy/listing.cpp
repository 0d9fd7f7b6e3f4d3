#include "stoa/proxy/listing.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "stoa/module/semver.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/proxy/info_json.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::proxy {

namespace semver = module::semver;

std::optional<InfoFields> parse_info(std::string_view json) {
  auto info = decode_rev_info(json);
  if (!info) return std::nullopt;
  return InfoFields{std::move(info->version), std::move(info->time)};
}

bool is_rfc3339(std::string_view s) { return module::parse_rfc3339(s).has_value(); }

namespace {

// The length of the white space (Go's unicode.IsSpace of the UTF-8 rune) at the start of s, or 0.
std::size_t space_at(std::string_view s) {
  if (s.empty()) return 0;
  const auto r = sumdb::detail::decode_rune(s, 0);
  return sumdb::detail::is_space(r.value) ? r.size : 0;
}

// The first two fields of line as Go's strings.Fields splits it (on Unicode white space).
std::pair<std::string_view, std::string_view> first_fields(std::string_view line) {
  std::string_view fields[2];
  for (auto& f : fields) {
    while (const std::size_t n = space_at(line)) line.remove_prefix(n);
    std::size_t end = 0;
    while (end < line.size() && space_at(line.substr(end)) == 0) ++end;
    f = line.substr(0, end);
    line.remove_prefix(end);
  }
  return {fields[0], fields[1]};
}

// Whether Go's time.Parse(time.RFC3339, field) might accept field: it is made of the characters
// of that layout's accepted forms only (digits and "-T:Z+.,"; Go also takes a one-digit hour, a
// comma before the fraction, any number of fraction digits, "+24:00"). Anything else it refuses.
bool may_be_time(std::string_view field) {
  return !field.empty() && field.find_first_not_of("0123456789-T:Z+.,") == std::string_view::npos;
}

}  // namespace

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
    const auto [version, time] = first_fields(upstream.substr(0, nl));
    upstream = nl == std::string_view::npos ? std::string_view{} : upstream.substr(nl + 1);
    if (!semver::is_valid(version)) continue;
    Line line{std::string(version), {}};
    if (!time.empty()) {
      if (may_be_time(time)) {
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
  std::sort(added.begin(), added.end(),
            [](const Line& a, const Line& b) { return semver::compare(a.version, b.version) < 0; });
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
