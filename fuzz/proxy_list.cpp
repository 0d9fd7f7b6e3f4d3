// parse_proxy_list on a GOPROXY value (from configuration or the environment). A parsed list has
// an entry, direct or off; its URLs are normalized http(s) URLs that parse to themselves again;
// an error is one line that never repeats credentials from the input.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/fetch/upstream.hpp"

namespace {

using stoa::fuzz::require;
namespace fetch = stoa::fetch;

bool same(const fetch::ProxyList& a, const fetch::ProxyList& b) {
  if (a.direct != b.direct || a.off != b.off || a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    if (a.entries[i].base_url != b.entries[i].base_url ||
        a.entries[i].fall_through_on_error != b.entries[i].fall_through_on_error) {
      return false;
    }
  }
  return true;
}

void check_list(const fetch::ProxyList& list, std::string_view value) {
  require(!list.entries.empty() || list.direct || list.off, "a list with no entry at all", value);
  require(!(list.direct && list.off), "a list with both direct and off", value);
  std::string joined;
  for (const auto& e : list.entries) {
    const auto& u = e.base_url;
    require(u.starts_with("http://") || u.starts_with("https://"), "entry is not http(s)", u);
    require(u.size() > (u.starts_with("https://") ? 8u : 7u), "entry has no host", u);
    require(!u.ends_with("/"), "entry ends with '/'", u);
    require(stoa::fuzz::printable_line(u) && u.find_first_of(" ?#\\") == std::string::npos,
            "entry has a blank, control, non-ASCII, '?', '#' or '\\'", u);
    joined += u;
    joined += e.fall_through_on_error ? '|' : ',';
  }
  if (list.direct) joined += "direct";
  if (list.off) joined += "off";

  std::string error;
  const auto again = fetch::parse_proxy_list(joined, &error);
  require(again.has_value(), "a parsed list, joined again, does not parse", joined + "\n" + error);
  require(same(list, *again), "a parsed list, joined again, parses to another list", joined);
}

// Errors never repeat credentials. The fixed reason texts make any string a substring of some
// error ("st be htt" is in "must be http"), so the userinfo of each "scheme://userinfo@" in the
// input is replaced by canaries that no reason contains, and the error for that value is checked.
void check_no_credentials(std::string_view value) {
  constexpr std::string_view k_canary = "Kanary9";
  for (std::size_t pos = value.find("://"); pos != std::string_view::npos;
       pos = value.find("://", pos + 3)) {
    const std::string_view rest = value.substr(pos + 3);
    const std::string_view authority = rest.substr(0, rest.find_first_of("/,|"));
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const std::string with_canary = std::string(value.substr(0, pos + 3)) + "Us3r" +
                                    std::string(k_canary) + ":Pw0" + std::string(k_canary) +
                                    std::string(rest.substr(at));
    std::string error;
    if (!fetch::parse_proxy_list(with_canary, &error)) {
      require(error.find(k_canary) == std::string::npos, "the error repeats credentials",
              with_canary + "\n" + error);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto value = stoa::fuzz::as_text(data, size);
  std::string error;
  const auto list = fetch::parse_proxy_list(value, &error);
  if (list) {
    check_list(*list, value);
  } else {
    require(!error.empty() && stoa::fuzz::printable_line(error),
            "the error is not one line of printable ASCII", error);
  }
  check_no_credentials(value);
  const auto without_error = fetch::parse_proxy_list(value);
  require(without_error.has_value() == list.has_value(), "the error pointer changes the result",
          value);
  return 0;
}
