#include "stoa/web/retract.hpp"

#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::web {
namespace {

// One retraction from the text after "retract" (or a line of a block): "v1 // why",
// "[v1, v2] // why"; false when it does not read.
bool parse_one(std::string_view s, std::string_view before, Retraction& out) {
  std::string_view comment;
  if (const auto c = s.find("//"); c != std::string_view::npos) {
    comment = text::trim_space(s.substr(c + 2));
    s = s.substr(0, c);
  }
  s = text::trim_space(s);
  if (s.empty()) return false;
  if (s.front() == '[') {
    if (s.back() != ']') return false;
    s = s.substr(1, s.size() - 2);
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return false;
    out.low = std::string(text::trim_space(s.substr(0, comma)));
    out.high = std::string(text::trim_space(s.substr(comma + 1)));
  } else {
    out.low = std::string(s);
    out.high = out.low;
  }
  if (!module::semver::is_valid(out.low) || !module::semver::is_valid(out.high)) return false;
  out.rationale = std::string(comment.empty() ? before : comment);
  return true;
}

}  // namespace

std::vector<Retraction> parse_retractions(std::string_view gomod) {
  std::vector<Retraction> out;
  bool in_block = false;
  std::string before;  // comment lines just above
  while (!gomod.empty()) {
    const auto nl = gomod.find('\n');
    const std::string_view line = text::trim_space(gomod.substr(0, nl));
    gomod.remove_prefix(nl == std::string_view::npos ? gomod.size() : nl + 1);
    if (line.starts_with("//")) {
      if (!before.empty()) before += ' ';
      before += text::trim_space(line.substr(2));
      continue;
    }
    Retraction r;
    if (in_block) {
      if (line.starts_with(")")) {
        in_block = false;
      } else if (parse_one(line, before, r)) {
        out.push_back(std::move(r));
      }
    } else if (line.starts_with("retract")) {
      const std::string_view rest = text::trim_space(line.substr(7));
      if (rest.starts_with("(")) {
        in_block = true;
      } else if (line.size() > 7 && text::is_space(line[7]) && parse_one(rest, before, r)) {
        out.push_back(std::move(r));
      }
    }
    before.clear();
  }
  return out;
}

const Retraction* retracted(const std::vector<Retraction>& retractions, std::string_view version) {
  for (const auto& r : retractions) {
    if (module::semver::compare(r.low, version) <= 0 &&
        module::semver::compare(version, r.high) <= 0) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace stoa::web
