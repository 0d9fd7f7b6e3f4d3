#include "stoa/proxy/listing.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <set>

#include "stoa/module/semver.hpp"

namespace stoa::proxy {

namespace semver = module::semver;

std::optional<InfoFields> parse_info(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& obj = v.get_object();
  const auto* version = obj.if_contains("Version");
  if (version == nullptr || !version->is_string()) return std::nullopt;
  InfoFields out{std::string(version->get_string()), {}};
  if (const auto* time = obj.if_contains("Time"); time != nullptr) {
    if (!time->is_string()) return std::nullopt;
    out.time = std::string(time->get_string());
  }
  return out;
}

std::string merge_list(std::string_view upstream, const std::vector<std::string>& stored) {
  struct Line {
    std::string version;
    std::string rest;  // " <time>" or empty
  };
  std::vector<Line> lines;
  std::set<std::string, std::less<>> seen;
  auto add = [&](std::string_view version, std::string_view rest) {
    if (!semver::is_canonical(version) || semver::is_pseudo(version)) return;
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
    std::string_view rest;
    if (sp != std::string_view::npos) {
      rest = line.substr(sp);
      const auto end = rest.find_first_of(" \t", rest.find_first_not_of(" \t"));
      rest = rest.substr(0, end);  // the time field only
    }
    add(version, rest);
  }
  for (const auto& v : stored) add(v, {});
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    const int c = semver::compare(a.version, b.version);
    return c != 0 ? c < 0 : a.version < b.version;
  });
  std::string out;
  for (const auto& l : lines) {
    out += l.version;
    if (!l.rest.empty()) {
      out += ' ';
      out += l.rest.substr(l.rest.find_first_not_of(" \t"));
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
