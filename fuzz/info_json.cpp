// The bodies stoa takes from upstreams for the mutable endpoints: parse_info on a .info/@latest
// JSON body, merge_list and latest_from_list on a list body, pick_latest over its lines. The whole
// input is the body; its lines are also the "stored" versions and pick_latest's candidates.

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "check.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/proxy/listing.hpp"

namespace {

using stoa::fuzz::require;
namespace semver = stoa::module::semver;
namespace proxy = stoa::proxy;

std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto nl = s.find('\n');
    out.emplace_back(s.substr(0, nl));
    s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
  }
  return out;
}

void check_info(std::string_view body) {
  const auto info = proxy::parse_info(body);
  if (!info) return;
  // What was parsed survives a JSON round trip (escapes, NULs and all).
  boost::json::object o;
  o["Version"] = info->version;
  if (!info->time.empty()) o["Time"] = info->time;
  const auto again = proxy::parse_info(boost::json::serialize(o));
  require(again.has_value() && again->version == info->version && again->time == info->time,
          "parse_info does not round-trip", body);
}

// merge_list's output: one "<version>[ <time>]" per line, versions valid (canonical when only
// stored versions were given; pseudo-versions only when an upstream list was given: stored ones
// are never added), no line twice, each version present in the input; the stored versions
// (all of them when no upstream list was given) strictly increasing; merging the output again
// keeps it as it is.
std::vector<std::string> check_list_body(std::string_view out, std::string_view input,
                                         bool from_upstream) {
  std::vector<std::string> versions;
  std::set<std::string> lines;
  require(out.empty() || out.back() == '\n', "list body does not end with a newline", out);
  for (const auto& line : lines_of(out)) {
    const auto sp = line.find(' ');
    const std::string version = line.substr(0, sp);
    require(semver::is_valid(version), "list line is not a valid version", line);
    require(from_upstream || semver::is_canonical(version), "a stored version is not canonical",
            line);
    require(from_upstream || !semver::is_pseudo(version),
            "a stored pseudo-version was added to the list", line);
    require(sp == std::string::npos || sp + 1 < line.size(), "list line has an empty time", line);
    require(input.find(version) != std::string_view::npos, "list version is not from the input",
            line);
    require(lines.insert(line).second, "list line twice", out);
    if (!from_upstream && !versions.empty()) {
      const int c = semver::compare(versions.back(), version);
      require(c < 0 || (c == 0 && versions.back() < version), "stored list is not sorted", out);
    }
    versions.push_back(version);
  }
  return versions;
}

void check_latest(const std::vector<std::string>& candidates) {
  const auto latest = proxy::pick_latest(candidates);
  // 0: release, 1: pre-release, 2: pseudo-version; latest comes from the lowest class present.
  const auto rank = [](const std::string& v) {
    return semver::is_pseudo(v) ? 2 : semver::prerelease(v).empty() ? 0 : 1;
  };
  int best_rank = 3;
  for (const auto& v : candidates) {
    if (semver::is_valid(v)) best_rank = std::min(best_rank, rank(v));
  }
  if (best_rank == 3) {
    require(!latest, "pick_latest chose among no valid versions", latest.value_or(""));
    return;
  }
  require(latest.has_value(), "pick_latest chose nothing among valid versions");
  require(semver::is_valid(*latest) && rank(*latest) == best_rank,
          "pick_latest chose from the wrong class", *latest);
  bool present = false;
  for (const auto& v : candidates) {
    present = present || v == *latest;
    if (semver::is_valid(v) && rank(v) == best_rank) {
      require(semver::compare(v, *latest) <= 0, "pick_latest did not choose the highest", v);
    }
  }
  require(present, "pick_latest chose a version not given", *latest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = stoa::fuzz::as_text(data, size);
  check_info(body);

  const auto lines = lines_of(body);
  const std::string merged = proxy::merge_list(body, lines);
  check_list_body(merged, body, true);
  require(proxy::merge_list(merged, {}) == merged, "merging the merged list changes it", merged);
  const std::string stored_only = proxy::merge_list({}, lines);
  check_list_body(stored_only, body, false);

  check_latest(lines);

  // latestFromList: a valid version that starts a line of the input.
  // The go command computes the same latest version from stoa's list as from the upstream's
  // (stored versions added carry no time, so they never change it).
  require(stoa::module::latest_from_list(merged) == stoa::module::latest_from_list(body),
          "merge_list changes the latest version the go command computes from the list", body);
  if (const auto latest = stoa::module::latest_from_list(body)) {
    require(semver::is_valid(*latest), "latest_from_list chose an invalid version", *latest);
    require(body.find(*latest) != std::string_view::npos, "latest_from_list invented a version",
            *latest);
  }
  return 0;
}
