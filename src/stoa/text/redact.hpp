#pragma once
// Credential redaction: the one place that hides secrets in text meant for people (messages to
// clients, logs, `stoa config`, `/admin/config`, origins recorded in the index). A security
// control: every component redacts through these functions, none keeps a copy. Pure, thread-safe.

#include <string>
#include <string_view>

namespace stoa::text {

// What stands where a secret value was.
inline constexpr std::string_view k_redacted = "REDACTED";

// `text` with every credential it may carry hidden, the strictest of what stoa's copies of this
// control once did:
// - the whole userinfo of every URL in it ("<scheme>://<userinfo>@<host>") is dropped, '@'
//   included: the user too, since a token is often written as the user ("https://TOKEN@host"),
//   and a reader learns not even that there were credentials. The authority of a URL runs from
//   "://" to the first '/', '"', '<', '>', blank or control byte (not '?' or '#', which a raw
//   password may hold); its userinfo ends at the last '@' in it, so an unencoded '@' in a
//   password stays hidden and an '@' in a path ("/m/@v/list") is no userinfo. A '/' in a
//   password must be percent-encoded, as in any URL: the path would start there.
//   "https://u:pw@h/x" -> "https://h/x";
// - the value of every parameter whose name ends in "password" (any case: password, sslpassword),
//   as libpq key=value strings ("password=pw", "password = 'p w'", quoted values with \' and \\)
//   and URI queries ("?password=pw&...") write it, up to a blank, '&', or the closing quote,
//   becomes k_redacted: "host=h password=pw" -> "host=h password=REDACTED".
// Text without "://" or "password" is returned unchanged; a scheme-less "user:pw@host" is not
// recognized (it cannot be told from "module@version").
std::string redact_credentials(std::string_view text);

// `message` with every occurrence of the userinfo of `url`, of its user and of its password, as
// written in the URL and percent-decoded, replaced by "***": for texts produced by someone
// else (a library, an upstream's error body) that may echo the credentials sent with `url` in a
// form redact_credentials cannot recognize. Parts shorter than 3 bytes are left (they cannot be
// searched for without mangling the text).
std::string scrub_userinfo(std::string message, std::string_view url);

}  // namespace stoa::text
