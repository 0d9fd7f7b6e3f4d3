#include "stoa/sumdb/gosum.hpp"

#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {

std::optional<GoSumLine> parse_go_sum_line(std::string_view line) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  GoSumLine r;
  r.module_path = line.substr(0, sp1);
  r.version = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.hash = line.substr(sp2 + 1);
  constexpr std::string_view k_go_mod = "/go.mod";
  if (r.version.size() >= k_go_mod.size() &&
      r.version.substr(r.version.size() - k_go_mod.size()) == k_go_mod) {
    r.go_mod = true;
    r.version.remove_suffix(k_go_mod.size());
  }
  if (r.module_path.empty() || r.version.empty() || r.hash.empty() ||
      r.hash.find_first_of(" \n") != std::string_view::npos) {
    return std::nullopt;
  }
  return r;
}

bool is_h1(std::string_view hash) {
  constexpr std::string_view k_prefix = "h1:";
  if (hash.size() != k_prefix.size() + 44 || hash.substr(0, k_prefix.size()) != k_prefix) {
    return false;
  }
  const std::string_view b64 = hash.substr(k_prefix.size());
  const auto bytes = detail::decode_base64(b64);
  // Canonical: re-encoding gives the same text (no newlines, zero trailing bits).
  return bytes && bytes->size() == 32 && detail::encode_base64(*bytes) == b64;
}

bool h1_equal(std::string_view a, std::string_view b) { return is_h1(a) && is_h1(b) && a == b; }

}  // namespace stoa::sumdb
