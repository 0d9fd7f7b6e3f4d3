// Range / If-Range / If-None-Match handling for stored objects. Input: four lines, the Range
// header, the If-Range header, the object's ETag and its size in decimal. A partial answer must lie
// within the object; a plain "bytes=first-last" is also compared with RFC 9110 §14.1.2 directly.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "check.hpp"
#include "stoa/proxy/conditional.hpp"

namespace {

using stoa::fuzz::require;
namespace proxy = stoa::proxy;
using proxy::RangeVerdict;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// RFC 9110 for exactly "bytes=<digits>-<digits>" (either side may be empty); nullopt when the
// spec has another shape or a number does not fit in 64 bits (then any answer but a crash goes).
std::optional<proxy::RangeDecision> expected(std::string_view range, std::uint64_t size) {
  if (!range.starts_with("bytes=")) return std::nullopt;
  const std::string_view spec = range.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view first = spec.substr(0, dash);
  const std::string_view last = spec.substr(dash + 1);
  if (!all_digits(first) || !all_digits(last)) return std::nullopt;
  const auto f = to_u64(first);
  const auto l = to_u64(last);
  if ((!first.empty() && !f) || (!last.empty() && !l)) return std::nullopt;

  const proxy::RangeDecision full{};
  const proxy::RangeDecision unsatisfiable{RangeVerdict::unsatisfiable, {}};
  if (!f && !l) return full;  // "bytes=-": invalid, ignored
  if (!f) {                   // suffix range
    if (*l == 0 || size == 0) return unsatisfiable;
    const std::uint64_t n = *l < size ? *l : size;
    return proxy::RangeDecision{RangeVerdict::partial, {size - n, n}};
  }
  if (l && *l < *f) return full;  // invalid, ignored
  if (*f >= size) return unsatisfiable;
  const std::uint64_t end = l && *l < size - 1 ? *l : size - 1;
  return proxy::RangeDecision{RangeVerdict::partial, {*f, end - *f + 1}};
}

void check_range(std::string_view range, std::string_view if_range, std::string_view etag,
                 std::uint64_t size) {
  const auto d = proxy::decide_range(range, if_range, etag, size);
  const std::string what = std::string(range) + " | " + std::string(if_range) + " | " +
                           std::string(etag) + " | " + std::to_string(size);
  if (d.verdict == RangeVerdict::partial) {
    require(d.range.length >= 1, "empty partial range", what);
    require(d.range.offset < size && d.range.length <= size - d.range.offset,
            "partial range outside the object", what);
  }
  if (trim(range).empty()) require(d.verdict == RangeVerdict::full, "no Range but not full", what);
  const auto ir = trim(if_range);
  if (!ir.empty() && (ir.starts_with("W/") || ir != etag)) {
    require(d.verdict == RangeVerdict::full, "If-Range mismatch but not full", what);
  }
  if (ir.empty()) {
    if (const auto want = expected(range, size)) {
      require(d.verdict == want->verdict, "verdict differs from RFC 9110", what);
      if (d.verdict == RangeVerdict::partial) {
        require(d.range.offset == want->range.offset && d.range.length == want->range.length,
                "range differs from RFC 9110", what);
      }
    }
  }
}

void check_if_none_match(std::string_view header, std::string_view etag) {
  (void)proxy::if_none_match_matches(header, etag);
  require(proxy::if_none_match_matches("*", etag), "\"*\" does not match", etag);
  const bool plain = !etag.empty() && trim(etag) == etag && !etag.starts_with("W/") &&
                     etag.find(',') == std::string::npos;
  if (plain) {
    require(proxy::if_none_match_matches(etag, etag), "an etag does not match itself", etag);
    require(proxy::if_none_match_matches(" W/" + std::string(etag) + " ", etag),
            "a weak etag does not match (weak comparison)", etag);
    require(proxy::if_none_match_matches("\"other\", " + std::string(etag), etag),
            "an etag in a list does not match", etag);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = stoa::fuzz::fields(stoa::fuzz::as_text(data, size), 4);
  const auto object_size = to_u64(trim(f[3])).value_or(f[3].size());
  check_range(f[0], f[1], f[2], object_size);
  check_range(f[0], {}, f[2], object_size);
  check_range(f[0], f[2], f[2], object_size);
  check_if_none_match(f[0], f[2]);
  check_if_none_match(f[1], f[2]);
  return 0;
}
