// Module path and version checks and the `!` case-encoding: escaping and unescaping are inverse
// on valid inputs, everything unescape accepts is valid, and excerpt() always yields one bounded
// line of printable ASCII.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/module/path.hpp"

namespace {

using stoa::fuzz::require;
namespace module = stoa::module;

bool has_upper_or_high(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || b >= 0x80) return true;
  }
  return false;
}

void check_as_path(std::string_view s) {
  const bool valid = !module::check_path(s);
  if (auto reason = module::check_path(s)) {
    require(!reason->empty() && stoa::fuzz::printable_line(*reason),
            "check_path reason is not one line of printable ASCII", *reason);
  }
  const auto escaped = module::escape_path(s);
  require(escaped.has_value() == valid, "escape_path succeeds exactly on valid paths", s);
  if (valid) {
    require(s.size() <= module::k_max_path_bytes, "a valid path is over k_max_path_bytes", s);
    require(!has_upper_or_high(*escaped), "escaped path has uppercase or non-ASCII", *escaped);
    require(module::unescape_path(*escaped) == s, "unescape_path(escape_path(p)) != p", s);
    require(module::decode_case(*escaped) == s, "decode_case(escape_path(p)) != p", s);
    require(!module::check_import_path(s), "a valid module path is not a valid import path", s);
    const auto split = module::split_path_version(s);
    require(split.has_value(), "split_path_version fails on a valid module path", s);
    require(split->prefix + split->major == s, "split_path_version does not split", s);
  }

  if (const auto unescaped = module::unescape_path(s)) {
    require(!module::check_path(*unescaped), "unescape_path returned an invalid path", *unescaped);
    require(module::escape_path(*unescaped) == s, "escape_path(unescape_path(e)) != e", s);
  }
  if (const auto decoded = module::decode_case(s)) {
    require(decoded->find('!') == std::string::npos, "decode_case left a '!'", *decoded);
    require(decoded->size() <= s.size(), "decode_case grew its input", *decoded);
  }
}

void check_as_version(std::string_view s) {
  if (const auto escaped = module::escape_version(s)) {
    require(!has_upper_or_high(*escaped), "escaped version has uppercase or non-ASCII", *escaped);
    require(module::unescape_version(*escaped) == s, "unescape_version(escape_version(v)) != v", s);
  }
  if (const auto unescaped = module::unescape_version(s)) {
    require(module::escape_version(*unescaped) == s, "escape_version(unescape_version(e)) != e", s);
  }
}

void check_excerpt(std::string_view s, std::size_t max_bytes) {
  const std::string e = module::excerpt(s, max_bytes);
  require(stoa::fuzz::printable_line(e), "excerpt is not printable ASCII", e);
  require(e.size() <= max_bytes + 3, "excerpt is longer than max_bytes + 3", e);
  // Fit to be put between double quotes: every '"' and '\' is escaped.
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '\\') {
      ++i;
      require(i < e.size(), "excerpt ends inside an escape", e);
    } else {
      require(e[i] != '"', "excerpt has an unescaped double quote", e);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = stoa::fuzz::as_text(data, size);
  check_as_path(s);
  check_as_version(s);
  check_excerpt(s, module::k_max_echo_bytes);
  check_excerpt(s, size % 23);
  return 0;
}
