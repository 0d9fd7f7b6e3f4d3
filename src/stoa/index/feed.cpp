#include "stoa/index/feed.hpp"

#include <charconv>
#include <cstdio>

#include "stoa/module/version_list.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"

namespace stoa::index {
namespace {

constexpr std::int64_t k_ns = 1'000'000'000;

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

using text::append_json_string;

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  static constexpr int k_mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > k_mdays[mo - 1] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    std::int64_t scale = k_ns;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        scale /= 10;
        frac += (s[pos] - '0') * scale;
      }
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[pos] == '+' ? 1 : -1) * (std::int64_t{oh} * 3600 + std::int64_t{om} * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t secs =
      module::days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
      std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + sec - offset;
  // Unix ns in an int64 end in April 2262.
  if (secs < 0 || secs > (INT64_MAX - k_ns) / k_ns) return std::nullopt;
  return secs * k_ns + frac;
}

std::string format_rfc3339(std::int64_t ns) {
  const std::int64_t secs = ns / k_ns;
  std::int64_t frac = ns % k_ns;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(secs / 86400, y, m, d);
  const std::int64_t day = secs % 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(day / 3600), static_cast<long long>(day / 60 % 60),
                static_cast<long long>(day % 60));
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  out += 'Z';
  return out;
}

std::string render_feed(const std::vector<Entry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += "{\"Path\":";
    append_json_string(out, e.module);
    out += ",\"Version\":";
    append_json_string(out, e.version);
    out += ",\"Timestamp\":";
    append_json_string(out, format_rfc3339(e.stored_ns));
    out += "}\n";
  }
  return out;
}

std::string render_catalog(const std::vector<Entry>& entries, const std::string& next) {
  std::string out = "{\"Versions\":[";
  bool first = true;
  for (const auto& e : entries) {
    out += first ? "" : ",";
    first = false;
    out += "\n{\"Path\":";
    append_json_string(out, e.module);
    out += ",\"Version\":";
    append_json_string(out, e.version);
    out += ",\"Timestamp\":";
    append_json_string(out, format_rfc3339(e.stored_ns));
    out += ",\"ZipHash\":";
    append_json_string(out, e.zip_h1);
    out += ",\"ModHash\":";
    append_json_string(out, e.mod_h1);
    out += ",\"Size\":" + std::to_string(e.zip_size);
    out += ",\"Origin\":";
    append_json_string(out, e.origin);
    out += "}";
  }
  out += "]";
  if (!next.empty()) {
    out += ",\"Next\":";
    append_json_string(out, next);
  }
  out += "}\n";
  return out;
}

std::string encode_cursor(const Cursor& c) {
  std::string raw = c.module + "\n" + c.version;
  if (c.skip != 0) raw += "\n" + std::to_string(c.skip);
  return text::to_hex(raw);
}

std::optional<Cursor> decode_cursor(std::string_view cursor) {
  if (cursor.size() % 2 != 0 || cursor.size() > 4096) return std::nullopt;
  std::string raw;
  for (std::size_t i = 0; i < cursor.size(); i += 2) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(cursor.data() + i, cursor.data() + i + 2, v, 16);
    if (ec != std::errc() || p != cursor.data() + i + 2) return std::nullopt;
    raw += static_cast<char>(v);
  }
  const auto nl = raw.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  Cursor c;
  c.module = raw.substr(0, nl);
  c.version = raw.substr(nl + 1);
  if (const auto nl2 = c.version.find('\n'); nl2 != std::string::npos) {
    const std::string_view digits = std::string_view(c.version).substr(nl2 + 1);
    if (digits.empty() || digits.front() == '0') return std::nullopt;
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), c.skip);
    if (ec != std::errc() || p != digits.data() + digits.size() || c.skip > k_max_cursor_skip) {
      return std::nullopt;
    }
    c.version.resize(nl2);
  }
  return c;
}

}  // namespace stoa::index
