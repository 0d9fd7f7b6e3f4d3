#include "stoa/proxy/conditional.hpp"

#include <charconv>
#include <limits>

#include "stoa/text/ascii.hpp"

namespace stoa::proxy {
namespace {

using text::trim_ows;

std::string_view strip_weak(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  header = trim_ows(header);
  if (header.empty()) return false;
  if (header == "*") return true;
  const std::string_view want = strip_weak(etag);
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string_view item = trim_ows(header.substr(0, comma));
    if (!item.empty() && strip_weak(item) == want) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

RangeDecision decide_range(std::string_view range_header, std::string_view if_range_header,
                           std::string_view etag, std::uint64_t size) {
  RangeDecision full{};
  std::string_view spec = trim_ows(range_header);
  if (spec.empty()) return full;
  if (const auto ir = trim_ows(if_range_header); !ir.empty()) {
    if (ir.starts_with("W/") || ir != etag) return full;
  }
  if (!spec.starts_with("bytes=")) return full;
  spec = trim_ows(spec.substr(6));
  if (spec.find(',') != std::string_view::npos) return full;  // multipart ranges: send it all
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return full;
  const std::string_view first = trim_ows(spec.substr(0, dash));
  const std::string_view last = trim_ows(spec.substr(dash + 1));

  std::uint64_t begin = 0;
  std::uint64_t end = 0;  // inclusive
  if (first.empty()) {    // suffix range: the last N bytes
    const auto n = parse_u64(last);
    if (!n) return full;
    if (*n == 0 || size == 0) return {RangeVerdict::unsatisfiable, {}};
    begin = *n >= size ? 0 : size - *n;
    end = size - 1;
  } else {
    const auto b = parse_u64(first);
    if (!b) return full;
    begin = *b;
    if (last.empty()) {
      end = std::numeric_limits<std::uint64_t>::max();
    } else {
      const auto e = parse_u64(last);
      if (!e || *e < begin) return full;
      end = *e;
    }
    if (begin >= size) return {RangeVerdict::unsatisfiable, {}};
    if (end >= size) end = size - 1;
  }
  return {RangeVerdict::partial, {begin, end - begin + 1}};
}

std::string http_date(std::time_t t) {
  // IMF-fixdate (RFC 9110 5.6.7) by hand: strftime is locale-aware and costs more than the rest
  // of a stored-file answer.
  static constexpr std::string_view k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out;
  out.reserve(29);
  auto two = [&out](int v) {
    out.push_back(static_cast<char>('0' + v / 10));
    out.push_back(static_cast<char>('0' + v % 10));
  };
  out.append(k_days[static_cast<std::size_t>(tm.tm_wday) % 7]);
  out.append(", ");
  two(tm.tm_mday);
  out.push_back(' ');
  out.append(k_months[static_cast<std::size_t>(tm.tm_mon) % 12]);
  out.push_back(' ');
  const int year = tm.tm_year + 1900;
  two(year / 100 % 100);
  two(year % 100);
  out.push_back(' ');
  two(tm.tm_hour);
  out.push_back(':');
  two(tm.tm_min);
  out.push_back(':');
  two(tm.tm_sec);
  out.append(" GMT");
  return out;
}

}  // namespace stoa::proxy
