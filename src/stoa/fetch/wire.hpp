#pragma once
// What the HTTP upstream puts on the wire and takes off it, as pure functions: how the go command
// spells a proxy URL, which redirects are allowed, and how an upstream's error body becomes one
// line of text for a client (URLs in messages are redacted by text::redact_credentials). No I/O,
// never throw (except std::bad_alloc), thread-safe.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::fetch {

// The go command's pathEscape (cmd/go/internal/modfetch/proxy.go): Go's url.PathEscape applied
// to the whole string, then "%2F" turned back into '/'. Bytes other than A-Z a-z 0-9 - . _ ~
// $ & + : = @ / are percent-encoded with uppercase hex: the case-encoding '!' goes out as "%21",
// '+' (as in "+incompatible") and '@' stay literal.
std::string path_escape(std::string_view path);

// The CURLOPT_REDIR_PROTOCOLS_STR value for a transfer that started at `url`: "https" when `url`
// is https (the go command refuses a redirect from an https URL to anything but https, at every
// hop, since it compares with the first URL), "http,https" otherwise. Scheme compared
// case-insensitively.
std::string_view redirect_protocols(std::string_view url);

// True for a Content-Type whose body the go command shows to its user: "text/plain" with no
// charset, or charset utf-8 / us-ascii (case-insensitive, optionally quoted).
bool is_plain_text(std::string_view content_type);

// One printable line from `text`: its first line (up to '\n', without '\r' and surrounding
// blanks), at most `max_bytes` bytes cut at a UTF-8 boundary. Invalid UTF-8, C0/C1 controls
// (tab becomes a space), DEL, and the bidirectional / line-separator format characters that could
// disguise a terminal line or log entry are each replaced with '?'.
std::string sanitize_line(std::string_view text, std::size_t max_bytes);

// The detail line of an error body for a client: sanitize_line(body, max_bytes) when the body is
// plain text (is_plain_text) and its first line is not empty; nullopt otherwise.
std::optional<std::string> error_detail(std::string_view content_type, std::string_view body,
                                        std::size_t max_bytes = 512);

}  // namespace stoa::fetch
