#pragma once
// The wire forms of the index: the /index feed (the public module index's shape) and /catalog.
// Pure; the parsers take untrusted query parameters and never throw.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/index/index.hpp"

namespace stoa::index {

// "2019-04-10T19:08:52.997264Z" or with a "+hh:mm"/"-hh:mm" offset -> Unix ns; nullopt when
// malformed or out of range (1970 to 2262, what int64 nanoseconds hold).
std::optional<std::int64_t> parse_rfc3339(std::string_view s);
// Unix ns -> UTC RFC 3339 with as many fraction digits as needed (Go's RFC3339Nano).
std::string format_rfc3339(std::int64_t ns);

// One line per entry: {"Path":"...","Version":"...","Timestamp":"..."}\n
std::string render_feed(const std::vector<Entry>& entries);

// {"Versions":[{"Path","Version","Timestamp","ZipHash","ModHash","Size","Origin"}...],
//  "Next":"<cursor>"} with "Next" only when there may be more.
std::string render_catalog(const std::vector<Entry>& entries, const std::string& next);

// Where a /catalog page starts: after (module, version), then after `skip` more versions. A
// skip lets a client page past versions it may not see without their names in the cursor.
struct Cursor {
  std::string module;
  std::string version;
  std::uint64_t skip = 0;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};
inline constexpr std::uint64_t k_max_cursor_skip = 1'000'000'000'000;

// Opaque page cursors: hex of "<module>\n<version>", with "\n<skip>" (decimal, no leading
// zero, 1 to k_max_cursor_skip) when skip is not 0. decode_cursor(encode_cursor(c)) == c; a
// cursor without a skip decodes with skip 0.
std::string encode_cursor(const Cursor& c);
std::optional<Cursor> decode_cursor(std::string_view cursor);

}  // namespace stoa::index
