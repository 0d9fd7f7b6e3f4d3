// parse_request on a raw request-target, and the invariants storage relies on: a parsed request
// names a valid module, its escaped forms decode to its decoded ones and back, its storage key
// cannot leave the store's root and is one the store accepts (store/keys.hpp, private to the
// store but the contract between the two), and parsing its key again gives the same request.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "check.hpp"
#include "stoa/module/path.hpp"
#include "stoa/module/request.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/store/keys.hpp"

namespace {

using stoa::fuzz::require;
namespace module = stoa::module;

void check_request(const module::Request& r) {
  require(!module::check_path(r.module), "parsed module fails check_path", r.module);
  require(module::unescape_path(r.escaped_module) == r.module,
          "escaped module does not unescape to the module", r.escaped_module);
  require(module::escape_path(r.module) == r.escaped_module,
          "module does not escape to the escaped module", r.module);

  const bool versioned =
      r.kind == module::Kind::info || r.kind == module::Kind::mod || r.kind == module::Kind::zip;
  if (versioned) {
    require(!r.version.empty(), "versioned request without a version");
    require(module::unescape_version(r.escaped_version) == r.version,
            "escaped version does not unescape to the version", r.escaped_version);
    require(module::escape_version(r.version) == r.escaped_version,
            "version does not escape to the escaped version", r.version);
    require(r.canonical == module::semver::is_canonical(r.version),
            "canonical flag disagrees with semver::is_canonical", r.version);
    require(r.canonical || r.kind == module::Kind::info, ".mod/.zip with a non-canonical version",
            r.version);
  } else {
    require(r.version.empty() && r.escaped_version.empty(), "list/@latest with a version",
            r.version);
  }

  const std::string key = module::key_of(r);
  require(!key.empty() && key.front() != '/', "key is empty or starts with '/'", key);
  // ".." inside an element is valid (x/mod accepts "example..com/a..b"; see
  // fuzz/crashes/README.md); no element may be "." or "..", nor start with '.'.
  for (std::size_t start = 0; start <= key.size();) {
    const auto slash = std::min(key.find('/', start), key.size());
    const std::string_view element(key.data() + start, slash - start);
    require(!element.starts_with('.'), "key has an element starting with '.' (\".\", \"..\")", key);
    start = slash + 1;
  }
  require(key.find("//") == std::string::npos, "key contains \"//\"", key);
  require(key.find('\\') == std::string::npos, "key contains a backslash", key);
  require(key.find('\0') == std::string::npos, "key contains a NUL", key);
  require(stoa::fuzz::printable_line(key), "key contains a control or non-ASCII byte", key);
  require(stoa::store::keys::is_valid(key), "the store refuses the key of a valid request", key);

  // The key is also the upstream suffix: it must mean the same request when parsed again.
  const auto again = module::parse_request("/" + key);
  const auto* r2 = std::get_if<module::Request>(&again);
  require(r2 != nullptr, "the request's own key does not parse", key);
  require(r2->kind == r.kind && r2->module == r.module && r2->escaped_module == r.escaped_module &&
              r2->version == r.version && r2->escaped_version == r.escaped_version &&
              r2->canonical == r.canonical,
          "the request's own key parses to another request", key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto target = stoa::fuzz::as_text(data, size);
  const auto parsed = module::parse_request(target);
  if (const auto* r = std::get_if<module::Request>(&parsed)) {
    check_request(*r);
  } else {
    const auto& bad = std::get<module::BadRequest>(parsed);
    require(bad.status == 400 || bad.status == 404, "BadRequest status is not 400 or 404",
            std::to_string(bad.status));
    require(!bad.message.empty() && stoa::fuzz::printable_line(bad.message),
            "BadRequest message is not one line of printable ASCII", bad.message);
    // Each echo of the input is cut at k_max_echo_bytes; a message quotes at most two.
    require(bad.message.size() <= 4 * module::k_max_echo_bytes + 256,
            "BadRequest message is not bounded", bad.message);
  }
  return 0;
}
