#include "stoa/module/semver.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>

#include "stoa/text/ascii.hpp"

namespace stoa::module::semver {
namespace {

using text::is_alnum;
using text::is_digit;

bool is_ident_char(char c) { return is_alnum(c) || c == '-'; }

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

// A version split into its parts; every view points into the parsed string, except the
// implied "0" minor/patch of the short forms "vN" and "vN.M".
struct Parsed {
  std::string_view major;
  std::string_view minor;
  std::string_view patch;
  std::string_view implied;     // ".0.0" for "vN", ".0" for "vN.M", else empty
  std::string_view prerelease;  // "-..." or empty
  std::string_view build;       // "+..." or empty
};

// Removes a decimal number from the front of `s`: at least one digit, no leading zero.
std::optional<std::string_view> take_number(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  if (n == 0 || (n > 1 && s[0] == '0')) return std::nullopt;
  std::string_view number = s.substr(0, n);
  s.remove_prefix(n);
  return number;
}

// Removes "-ident(.ident)*" from the front of `s`, stopping at '+' or the end. Numeric
// identifiers must not have leading zeros.
std::optional<std::string_view> take_prerelease(std::string_view& s) {
  std::size_t end = 1;
  while (end < s.size() && s[end] != '+') ++end;
  std::string_view pre = s.substr(0, end);
  std::string_view idents = pre.substr(1);
  while (true) {
    std::size_t dot = idents.find('.');
    std::string_view ident = idents.substr(0, dot);
    if (ident.empty() || !std::all_of(ident.begin(), ident.end(), is_ident_char)) {
      return std::nullopt;
    }
    if (ident.size() > 1 && ident[0] == '0' && all_digits(ident)) return std::nullopt;
    if (dot == std::string_view::npos) break;
    idents.remove_prefix(dot + 1);
  }
  s.remove_prefix(end);
  return pre;
}

// Removes "+ident(.ident)*" (all of the rest) from `s`; leading zeros are allowed here.
std::optional<std::string_view> take_build(std::string_view& s) {
  std::string_view build = s;
  std::string_view idents = build.substr(1);
  while (true) {
    std::size_t dot = idents.find('.');
    std::string_view ident = idents.substr(0, dot);
    if (ident.empty() || !std::all_of(ident.begin(), ident.end(), is_ident_char)) {
      return std::nullopt;
    }
    if (dot == std::string_view::npos) break;
    idents.remove_prefix(dot + 1);
  }
  s = {};
  return build;
}

std::optional<Parsed> parse(std::string_view v) {
  if (v.empty() || v[0] != 'v') return std::nullopt;
  std::string_view rest = v.substr(1);
  Parsed p;

  auto major = take_number(rest);
  if (!major) return std::nullopt;
  p.major = *major;
  if (rest.empty()) {
    p.minor = "0";
    p.patch = "0";
    p.implied = ".0.0";
    return p;
  }

  if (rest[0] != '.') return std::nullopt;
  rest.remove_prefix(1);
  auto minor = take_number(rest);
  if (!minor) return std::nullopt;
  p.minor = *minor;
  if (rest.empty()) {
    p.patch = "0";
    p.implied = ".0";
    return p;
  }

  if (rest[0] != '.') return std::nullopt;
  rest.remove_prefix(1);
  auto patch = take_number(rest);
  if (!patch) return std::nullopt;
  p.patch = *patch;

  if (!rest.empty() && rest[0] == '-') {
    auto pre = take_prerelease(rest);
    if (!pre) return std::nullopt;
    p.prerelease = *pre;
  }
  if (!rest.empty() && rest[0] == '+') {
    auto build = take_build(rest);
    if (!build) return std::nullopt;
    p.build = *build;
  }
  if (!rest.empty()) return std::nullopt;
  return p;
}

// Numbers without leading zeros: the longer is larger, equal lengths compare as text.
int compare_number(std::string_view x, std::string_view y) {
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  int c = x.compare(y);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Semver precedence of two prereleases ("" = a release, which ranks above any prerelease).
int compare_prerelease(std::string_view x, std::string_view y) {
  if (x == y) return 0;
  if (x.empty()) return 1;
  if (y.empty()) return -1;
  while (!x.empty() && !y.empty()) {
    x.remove_prefix(1);  // the '-' or '.' before each identifier
    y.remove_prefix(1);
    std::string_view dx = x.substr(0, x.find('.'));
    std::string_view dy = y.substr(0, y.find('.'));
    x.remove_prefix(dx.size());
    y.remove_prefix(dy.size());
    if (dx == dy) continue;
    bool nx = all_digits(dx);
    bool ny = all_digits(dy);
    if (nx != ny) return nx ? -1 : 1;  // numeric identifiers rank below alphanumeric ones
    if (nx) return compare_number(dx, dy);
    return dx < dy ? -1 : 1;
  }
  return x.empty() ? -1 : 1;  // the one with fewer identifiers ranks lower
}

}  // namespace

bool is_valid(std::string_view v) { return parse(v).has_value(); }

std::string canonical(std::string_view v) {
  auto p = parse(v);
  if (!p) return {};
  std::string out(v.substr(0, v.size() - p->build.size()));
  out += p->implied;
  if (p->build == "+incompatible") out += p->build;
  return out;
}

int compare(std::string_view a, std::string_view b) {
  auto pa = parse(a);
  auto pb = parse(b);
  if (!pa || !pb) return pa ? 1 : (pb ? -1 : 0);
  if (int c = compare_number(pa->major, pb->major); c != 0) return c;
  if (int c = compare_number(pa->minor, pb->minor); c != 0) return c;
  if (int c = compare_number(pa->patch, pb->patch); c != 0) return c;
  return compare_prerelease(pa->prerelease, pb->prerelease);
}

std::string major(std::string_view v) {
  auto p = parse(v);
  if (!p) return {};
  return std::string(v.substr(0, 1 + p->major.size()));
}

std::string prerelease(std::string_view v) {
  auto p = parse(v);
  return p ? std::string(p->prerelease) : std::string();
}

std::string build(std::string_view v) {
  auto p = parse(v);
  return p ? std::string(p->build) : std::string();
}

// x/mod recognizes the three pseudo-version forms with a regular expression; this is the same
// language, written out. After "vX.Y.Z-" the prerelease must end in "<14 digits>-<alnum revision>",
// preceded by nothing when Y.Z is 0.0 (form 1, "vX.0.0-yyyymmddhhmmss-rev"), or by "0." that
// either starts the prerelease or follows a '.' (forms 2 and 3, "vX.Y.(Z+1)-0.yyyy..." and
// "vX.Y.Z-pre.0.yyyy..."). Any build suffix is allowed.
bool is_pseudo(std::string_view v) {
  if (std::count(v.begin(), v.end(), '-') < 2) return false;
  auto p = parse(v);
  if (!p || !p->implied.empty() || p->prerelease.empty()) return false;

  std::string_view body = p->prerelease.substr(1);
  std::size_t dash = body.rfind('-');
  if (dash == std::string_view::npos) return false;
  std::string_view rev = body.substr(dash + 1);
  if (rev.empty() || !std::all_of(rev.begin(), rev.end(), is_alnum)) return false;

  constexpr std::size_t k_timestamp_digits = 14;
  if (dash < k_timestamp_digits) return false;
  if (!all_digits(body.substr(dash - k_timestamp_digits, k_timestamp_digits))) return false;

  std::string_view before = body.substr(0, dash - k_timestamp_digits);
  if (before.empty()) return p->minor == "0" && p->patch == "0";
  if (before.size() < 2 || before.substr(before.size() - 2) != "0.") return false;
  return before.size() == 2 || before[before.size() - 3] == '.';
}

}  // namespace stoa::module::semver
