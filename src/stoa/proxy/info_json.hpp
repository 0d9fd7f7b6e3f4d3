#pragma once
// A .info / @latest body read the way the go command reads it: encoding/json.Unmarshal into
// cmd/go's RevInfo {Version string; Time time.Time; Origin *codehost.Origin}. Pure, thread-safe,
// never throws.
//
// What that means, precisely (each point is checked against Go by differential_test.cpp):
// - the whole body is one JSON value (RFC 8259 syntax as encoding/json scans it, nesting at most
//   10000 deep, surrounding blanks allowed, no BOM); bytes that are not UTF-8 are allowed inside
//   strings and decode to U+FFFD;
// - the value is an object, or null (which decodes to a RevInfo with an empty Version);
// - keys match the field names case-insensitively (Unicode simple folding: "VERSION", "version",
//   "Ver\u017Fion" all set Version) and the last matching member wins, except that a null leaves
//   the field as it was;
// - Version is a string or null; Time a string holding an RFC 3339 date-time as time.Time's
//   UnmarshalJSON accepts it (the raw text between the quotes, escapes not decoded), or null;
//   Origin an object whose VCS, URL, Subdir, Hash, TagPrefix, TagSum, Ref and RepoSum members are
//   strings or null, or null. Any other type anywhere in those fields makes the body invalid.
//   Members with other names may hold any JSON value.

#include <optional>
#include <string>
#include <string_view>

namespace stoa::proxy {

struct GoRevInfo {
  std::string version;  // decoded as Go decodes it (escapes resolved, bad UTF-8 -> U+FFFD)
  std::string time;     // the raw RFC 3339 text of the winning Time member; empty if none
};

// The RevInfo the go command decodes from `body`, or nullopt when json.Unmarshal fails; then
// `problem` (when given) says why, in words fit for a log line.
std::optional<GoRevInfo> decode_rev_info(std::string_view body, std::string* problem = nullptr);

// Whether time.Time.UnmarshalJSON accepts `"<s>"`: Go's RFC 3339 parsing, including what
// time.Parse tolerates (a one-digit hour, ',' before the fraction, any number of fraction digits,
// a zone offset up to +24:60).
bool is_go_json_time(std::string_view s);

}  // namespace stoa::proxy
