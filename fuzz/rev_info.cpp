// A .info / @latest body as the go command decodes it: proxy::decode_rev_info, is_go_json_time
// and info_problem. The whole input is the body.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/modzip/unicode.hpp"
#include "stoa/proxy/info_json.hpp"
#include "stoa/proxy/validate.hpp"

namespace {

using stoa::fuzz::require;
namespace proxy = stoa::proxy;

// A JSON string literal for valid UTF-8 `s`.
std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20) {
      static constexpr char k_hex[] = "0123456789abcdef";
      out += "\\u00";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = stoa::fuzz::as_text(data, size);
  std::string why;
  const auto info = proxy::decode_rev_info(body, &why);
  const auto problem = proxy::info_problem(body, "v1.0.0");
  if (problem) require(stoa::fuzz::printable_line(*problem), "problem is not one line", *problem);
  if (!info) {
    require(!why.empty(), "refused without a reason", body);
    require(problem.has_value(), "info_problem accepts what decode_rev_info refuses", body);
    return 0;
  }
  require(problem.has_value() == (info->version != "v1.0.0"), "info_problem disagrees", body);
  // What was decoded is valid UTF-8 and survives a canonical re-encoding.
  require(stoa::modzip::detail::is_valid_utf8(info->version), "version is not UTF-8",
          info->version);
  require(info->time.empty() || proxy::is_go_json_time(info->time), "time not accepted",
          info->time);
  std::string again = "{\"Version\":" + json_quote(info->version);
  if (!info->time.empty()) again += ",\"Time\":\"" + info->time + "\"";
  again += "}";
  const auto info2 = proxy::decode_rev_info(again);
  require(info2 && info2->version == info->version && info2->time == info->time,
          "re-encoding does not decode to the same", again);
  return 0;
}
