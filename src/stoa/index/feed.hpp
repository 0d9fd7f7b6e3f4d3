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

// Opaque page cursors: hex of "<module>\n<version>".
std::string encode_cursor(const std::string& module, const std::string& version);
std::optional<std::pair<std::string, std::string>> decode_cursor(std::string_view cursor);

}  // namespace stoa::index
