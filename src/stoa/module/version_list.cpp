#include "stoa/module/version_list.hpp"

#include "stoa/module/semver.hpp"

namespace stoa::module {
namespace {

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in(int month, int year) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return k_days[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
}

// Reads s[pos, pos+n) as decimal digits within [lo, hi].
bool number(std::string_view s, std::size_t pos, std::size_t n, int lo, int hi, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi) return false;
  out = v;
  return true;
}

struct Civil {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

Instant instant_of(const Civil& c, std::int32_t nanos, std::int64_t offset_seconds) {
  const std::int64_t days =
      days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day));
  return {days * 86400 + std::int64_t{c.hour} * 3600 + std::int64_t{c.minute} * 60 + c.second -
              offset_seconds,
          nanos};
}

// The fields of "yyyy?mm?dd?hh?mm?ss" at the given offsets, range-checked as Go's parsers do.
bool civil(std::string_view s, const std::size_t (&at)[6], Civil& c) {
  return number(s, at[0], 4, 0, 9999, c.year) && number(s, at[1], 2, 1, 12, c.month) &&
         number(s, at[2], 2, 1, days_in(c.month, c.year), c.day) &&
         number(s, at[3], 2, 0, 23, c.hour) && number(s, at[4], 2, 0, 59, c.minute) &&
         number(s, at[5], 2, 0, 59, c.second);
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::size_t space_at(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const std::size_t left = s.size() - i;
  switch (b(0)) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
      return 1;
    case 0xC2:  // U+0085, U+00A0
      return left >= 2 && (b(1) == 0x85 || b(1) == 0xA0) ? 2 : 0;
    case 0xE1:  // U+1680
      return left >= 3 && b(1) == 0x9A && b(2) == 0x80 ? 3 : 0;
    case 0xE2:  // U+2000..U+200A, U+2028, U+2029, U+202F, U+205F
      if (left < 3) return 0;
      if (b(1) == 0x80 && (b(2) <= 0x8A || b(2) == 0xA8 || b(2) == 0xA9 || b(2) == 0xAF)) return 3;
      return b(1) == 0x81 && b(2) == 0x9F ? 3 : 0;
    case 0xE3:  // U+3000
      return left >= 3 && b(1) == 0x80 && b(2) == 0x80 ? 3 : 0;
    default:
      return 0;
  }
}

std::string_view next_field(std::string_view& rest) {
  std::size_t i = 0;
  while (i < rest.size()) {
    const std::size_t n = space_at(rest, i);
    if (n == 0) break;
    i += n;
  }
  std::size_t end = i;
  while (end < rest.size() && space_at(rest, end) == 0) ++end;
  const std::string_view field = rest.substr(i, end - i);
  rest = rest.substr(end);
  return field;
}

std::optional<Instant> parse_rfc3339(std::string_view s) {
  // "2006-01-02T": fixed widths.
  Civil c;
  if (s.size() < 11 || !number(s, 0, 4, 0, 9999, c.year) || s[4] != '-' ||
      !number(s, 5, 2, 1, 12, c.month) || s[7] != '-' || !number(s, 8, 2, 1, 31, c.day) ||
      s[10] != 'T') {
    return std::nullopt;
  }
  // "15": one or two digits.
  std::size_t pos = 11;
  const bool two = pos + 1 < s.size() && s[pos + 1] >= '0' && s[pos + 1] <= '9';
  if (!number(s, pos, two ? 2 : 1, 0, 23, c.hour)) return std::nullopt;
  pos += two ? 2 : 1;
  // ":04:05"
  if (pos >= s.size() || s[pos] != ':' || !number(s, pos + 1, 2, 0, 59, c.minute) ||
      pos + 3 >= s.size() || s[pos + 3] != ':' || !number(s, pos + 4, 2, 0, 59, c.second)) {
    return std::nullopt;
  }
  pos += 6;
  // A fraction the layout does not name: '.' or ',' and at least one digit; nanoseconds are its
  // first nine digits.
  std::int32_t nanos = 0;
  if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && s[pos + 1] >= '0' &&
      s[pos + 1] <= '9') {
    std::int32_t scale = 100'000'000;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
    }
  }
  // "Z07:00": 'Z', or a sign, two digits, ':', two digits; Go lets an offset reach 24:00 and
  // minutes reach 60 ("some people do write offsets of 24 hours or 60 minutes").
  std::int64_t offset = 0;
  const std::string_view zone = s.substr(pos);
  if (!zone.empty() && zone[0] == 'Z') {
    pos += 1;
  } else {
    int oh = 0, om = 0;
    if (zone.size() < 6 || zone[3] != ':' || (zone[0] != '+' && zone[0] != '-') ||
        !number(zone, 1, 2, 0, 24, oh) || !number(zone, 4, 2, 0, 60, om)) {
      return std::nullopt;
    }
    offset = (zone[0] == '-' ? -1 : 1) * (std::int64_t{oh} * 3600 + std::int64_t{om} * 60);
    pos += 6;
  }
  if (pos != s.size() || c.day > days_in(c.month, c.year)) return std::nullopt;
  return instant_of(c, nanos, offset);
}

std::optional<Instant> pseudo_version_time(std::string_view v) {
  if (!semver::is_pseudo(v)) return std::nullopt;
  v = v.substr(0, v.find('+'));
  const std::size_t dash = v.rfind('-');
  constexpr std::size_t k_digits = 14;  // is_pseudo checked they are there
  const std::string_view stamp = v.substr(dash - k_digits, k_digits);
  Civil c;
  if (!civil(stamp, {0, 4, 6, 8, 10, 12}, c)) return std::nullopt;
  return instant_of(c, 0, 0);
}

std::optional<std::string> latest_from_list(std::string_view list_body) {
  std::optional<Instant> best_time;
  std::string_view best;
  while (!list_body.empty()) {
    const std::size_t nl = list_body.find('\n');
    std::string_view line = list_body.substr(0, nl);
    list_body = nl == std::string_view::npos ? std::string_view{} : list_body.substr(nl + 1);
    std::string_view rest = line;
    const std::string_view version = next_field(rest);
    if (version.empty() || !semver::is_valid(version)) continue;
    const std::string_view when = next_field(rest);
    std::optional<Instant> t;
    if (!when.empty()) {
      // A time Go cannot parse is its zero time, which never wins.
      t = parse_rfc3339(when);
    } else if (semver::is_pseudo(version)) {
      t = pseudo_version_time(version);
    } else {
      continue;
    }
    // Go compares against the zero time (year 1, January 1): only later times can win.
    static constexpr Instant k_go_zero{-62135596800, 0};
    if (!t || *t <= k_go_zero) continue;
    if (!best_time || *best_time < *t) {
      best_time = t;
      best = version;
    }
  }
  if (!best_time) return std::nullopt;
  return std::string(best);
}

}  // namespace stoa::module
