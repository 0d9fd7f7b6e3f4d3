#pragma once
// Conditional requests and byte ranges for stored, immutable objects (RFC 9110 §13, §14).
// Pure and thread-safe.

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::proxy {

// True when an If-None-Match header value matches `etag` (weak comparison, as RFC 9110 asks
// for If-None-Match; "*" matches any existing object).
bool if_none_match_matches(std::string_view header, std::string_view etag);

struct ByteRange {
  std::uint64_t offset;
  std::uint64_t length;
};

enum class RangeVerdict { full, partial, unsatisfiable };

struct RangeDecision {
  RangeVerdict verdict = RangeVerdict::full;
  ByteRange range{0, 0};  // meaningful for partial
};

// Decides how to answer a GET of an object of `size` bytes with strong `etag`.
// A syntactically invalid Range, a multi-range request or an If-Range that does not equal the
// etag (strong comparison; dates are not supported and count as mismatch) gives `full`.
RangeDecision decide_range(std::string_view range_header, std::string_view if_range_header,
                           std::string_view etag, std::uint64_t size);

// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t t);

}  // namespace stoa::proxy
