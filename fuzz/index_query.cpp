// The /index and /catalog query values: parse_rfc3339 never throws, what it accepts formats back
// to a time it parses to the same instant, and page cursors decode only from what encode_cursor
// could have made. Input: a `since` value on the first line, a cursor on the second.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/index/feed.hpp"

namespace {

using stoa::fuzz::require;
namespace index = stoa::index;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = stoa::fuzz::as_text(data, size);
  const auto nl = in.find('\n');
  const std::string_view since = in.substr(0, nl);
  const std::string_view cursor = nl == std::string_view::npos ? "" : in.substr(nl + 1);

  if (const auto ns = index::parse_rfc3339(since)) {
    require(*ns >= 0, "parse_rfc3339 accepted a time before 1970", since);
    const std::string back = index::format_rfc3339(*ns);
    require(index::parse_rfc3339(back) == ns, "format_rfc3339 does not round-trip", since);
  }
  if (const auto c = index::decode_cursor(cursor)) {
    require(c->module.find('\n') == std::string::npos, "a decoded module holds a newline", cursor);
    require(c->version.find('\n') == std::string::npos, "a decoded version holds a newline",
            cursor);
    require(c->skip <= index::k_max_cursor_skip, "a decoded skip is out of range", cursor);
    const auto again = index::decode_cursor(index::encode_cursor(*c));
    require(again == c, "encode_cursor does not round-trip", cursor);
  }
  return 0;
}
