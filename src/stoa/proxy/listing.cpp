#include "stoa/proxy/listing.hpp"

#include <algorithm>
#include <set>

#include "stoa/module/semver.hpp"
#include "stoa/proxy/info_json.hpp"

namespace stoa::proxy {

namespace semver = module::semver;

std::optional<InfoFields> parse_info(std::string_view json) {
  auto info = decode_rev_info(json);
  if (!info) return std::nullopt;
  return InfoFields{std::move(info->version), std::move(info->time)};
}

bool is_rfc3339(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n, int& value) {
    if (pos + n > s.size()) return false;
    value = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      value = value * 10 + (s[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || s[10] != 'T' || !digits(11, 2, hour) || s[13] != ':' ||
      !digits(14, 2, minute) || s[16] != ':' || !digits(17, 2, second)) {
    return false;
  }
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > k_days[month - 1] + (month == 2 && leap) ||
      hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start || pos - start > 9) return false;
  }
  if (pos < s.size() && s[pos] == 'Z') return pos + 1 == s.size();
  int oh = 0, om = 0;
  return pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && digits(pos + 1, 2, oh) &&
         s[pos + 3] == ':' && digits(pos + 4, 2, om) && oh <= 23 && om <= 59;
}

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
