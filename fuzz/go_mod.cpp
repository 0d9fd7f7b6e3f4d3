// A .mod body as the go command parses a dependency's go.mod: proxy::parse_go_mod_lax and
// go_mod_problem. The whole input is the body.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/proxy/gomod.hpp"
#include "stoa/proxy/validate.hpp"

namespace {

using stoa::fuzz::require;
namespace proxy = stoa::proxy;

// A Go "double-quoted" literal for any bytes.
std::string go_quote(std::string_view s) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    }
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = stoa::fuzz::as_text(data, size);
  std::string why;
  const auto head = proxy::parse_go_mod_lax(body, &why);
  const auto problem = proxy::go_mod_problem(body);
  if (problem) require(stoa::fuzz::printable_line(*problem), "problem is not one line", *problem);
  if (!head) {
    require(!why.empty(), "refused without a reason", body);
    require(problem.has_value(), "go_mod_problem accepts what ParseLax refuses", body);
    return 0;
  }
  require(problem.has_value() == head->module_path.empty(), "go_mod_problem disagrees", body);
  // A comment after an accepted file changes nothing.
  const auto more = proxy::parse_go_mod_lax(std::string(body) + "\n// trailing\n");
  require(more && more->has_module == head->has_module && more->module_path == head->module_path,
          "a trailing comment changes the verdict", body);
  if (head->has_module) {
    // The path, quoted the way Go quotes any bytes, reads back as itself.
    const std::string line = "module " + go_quote(head->module_path) + "\n";
    const auto again = proxy::parse_go_mod_lax(line);
    require(again && again->has_module && again->module_path == head->module_path,
            "the module path does not survive quoting", line);
  }
  return 0;
}
