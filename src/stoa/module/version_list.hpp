#pragma once
// `@v/list` bodies and their times as the go command reads them (cmd/go/internal/modfetch,
// proxyRepo.latestFromList). Pure, thread-safe.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::module {

// A point in time: seconds since the Unix epoch (negative before it) and nanoseconds.
struct Instant {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 of the synthesized compare
  friend auto operator<=>(const Instant&, const Instant&) = default;
};

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (negative before it; H.
// Hinnant's days_from_civil algorithm). m in 1..12, d in 1..31.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

// The byte length of the white-space character (unicode.IsSpace) that starts at s[i], 0 when
// none: ASCII \t \n \v \f \r and space, and the UTF-8 forms of U+0085, U+00A0, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000. Requires i < s.size().
std::size_t space_at(std::string_view s, std::size_t i);

// strings.Fields, one field at a time: skips white space (space_at), returns the field that
// follows (empty at the end) and leaves `rest` just after it.
std::string_view next_field(std::string_view& rest);

// A date-time as Go's time.Parse(time.RFC3339, s) reads it, looser spellings included:
// "2006-01-02T15:04:05Z07:00" with a one- or two-digit hour, calendar-valid fields, years
// 0000-9999, an optional fraction after '.' or ',' of any length (nanoseconds kept), and "Z" or
// "+hh:mm"/"-hh:mm" up to 24:00 (minutes up to 60). nullopt where Go reports an error.
std::optional<Instant> parse_rfc3339(std::string_view s);

// module.PseudoVersionTime: the UTC time in a pseudo-version's "yyyymmddhhmmss" field; nullopt
// when `v` is not a pseudo-version or that field is not a calendar time.
std::optional<Instant> pseudo_version_time(std::string_view v);

// The version the go command takes as latest from an `@v/list` body when the proxy answered
// 404 for `@latest` (latestFromList): among lines whose first field is a valid semantic version,
// the one with the latest time, where the time is the line's second field if it has one (a
// malformed one counts as no time at all) and otherwise a pseudo-version's own time; a tagged
// version without a time column is skipped; on equal times the first line wins. nullopt when no
// line qualifies: the go command then reports "no commits" and goes on to the next GOPROXY entry.
std::optional<std::string> latest_from_list(std::string_view list_body);

}  // namespace stoa::module
