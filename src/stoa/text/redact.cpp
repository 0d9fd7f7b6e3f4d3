#include "stoa/text/redact.hpp"

#include <initializer_list>

#include "stoa/text/ascii.hpp"

namespace stoa::text {
namespace {

// Where the authority of a URL ends, for redaction: the path's '/', or what can be part of no
// URL. Not '?' or '#': a raw password may hold them, and hiding too much is the safe mistake.
bool ends_authority(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b <= 0x20 || b == 0x7f || c == '/' || c == '"' || c == '<' || c == '>';
}

// Replaces the userinfo of every URL in `text`.
std::string redact_userinfo(std::string_view text) {
  std::string out;
  std::size_t copied = 0;  // text[0, copied) is in `out`
  for (std::size_t p = text.find("://"); p != std::string_view::npos; p = text.find("://", p + 3)) {
    const std::size_t begin = p + 3;
    std::size_t end = begin;
    while (end < text.size() && !ends_authority(text[end])) ++end;
    const auto at = text.substr(begin, end - begin).rfind('@');
    if (at == std::string_view::npos) continue;
    out.append(text.substr(copied, begin - copied));
    copied = begin + at + 1;  // after the '@'
  }
  out.append(text.substr(copied));
  return out;
}

// Replaces the value of every "...password=" parameter in `s`.
std::string redact_passwords(std::string s) {
  constexpr std::string_view k_name = "password";
  std::size_t from = 0;
  while (from < s.size()) {
    // Case-insensitive search for the name.
    std::size_t p = from;
    while (p + k_name.size() <= s.size() &&
           !iequals(std::string_view(s).substr(p, k_name.size()), k_name)) {
      ++p;
    }
    if (p + k_name.size() > s.size()) break;
    std::size_t i = p + k_name.size();
    while (i < s.size() && is_ows(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {
      from = p + 1;
      continue;
    }
    ++i;
    while (i < s.size() && is_ows(s[i])) ++i;
    std::size_t end = i;
    if (end < s.size() && s[end] == '\'') {
      // libpq's quoted value: up to the closing quote; \' and \\ are escapes.
      ++end;
      while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2 : 1;
      end = end < s.size() ? end + 1 : s.size();
    } else {
      while (end < s.size() && !is_space(s[end]) && s[end] != '&') ++end;
    }
    s.replace(i, end - i, k_redacted);
    from = i + k_redacted.size();
  }
  return s;
}

}  // namespace

std::string redact_credentials(std::string_view text) {
  return redact_passwords(redact_userinfo(text));
}

std::string scrub_userinfo(std::string message, std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return message;
  const std::string_view rest = url.substr(scheme_end + 3);
  std::size_t end = 0;
  while (end < rest.size() && !ends_authority(rest[end])) ++end;
  const std::string_view authority = rest.substr(0, end);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return message;
  const std::string_view userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  const std::string_view user = userinfo.substr(0, colon);
  const std::string_view password =
      colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
  // As written in the URL, and as sent (percent-decoded), since an upstream may echo either.
  for (const std::string& secret :
       {std::string(userinfo), std::string(user), std::string(password),
        percent_decode(user).value_or(""), percent_decode(password).value_or("")}) {
    if (secret.size() < 3) continue;
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

}  // namespace stoa::text
