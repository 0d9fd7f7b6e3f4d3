// proxy::parse_sumdb_target on a raw request-target under /sumdb/ (the database "sum.example" is
// proxied; modules under corp.example/ are private): never throws; a refusal is 400, 403 or 404
// with one line; a parsed request is of the known database, names exactly one thing,
// keeps tiles and lookups under "sumdb/sum.example/<path>", never carries a private module, and
// its path is canonical: parsing it again gives the same request.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "check.hpp"
#include "stoa/proxy/sumdb_endpoint.hpp"

namespace {

using stoa::fuzz::one_line;
using stoa::fuzz::require;
namespace proxy = stoa::proxy;

std::variant<proxy::SumdbRequest, proxy::Response> parse(std::string_view target) {
  return proxy::parse_sumdb_target(
      target, [](std::string_view name) { return name == "sum.example"; },
      [](std::string_view module) { return module.starts_with("corp.example/"); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target = stoa::fuzz::as_text(data, size);
  const auto got = parse(target);
  if (const auto* refused = std::get_if<proxy::Response>(&got)) {
    require(refused->status == 400 || refused->status == 403 || refused->status == 404,
            "a refusal is not 400, 403 or 404", target);
    require(one_line(refused->body), "a refusal is not one line", refused->body);
    return 0;
  }
  const auto& s = std::get<proxy::SumdbRequest>(got);
  require(s.name == "sum.example", "a parsed request names another database", target);
  require(s.supported == s.path.empty(), "supported and a path, or neither", target);
  if (s.supported) return 0;
  require(!s.module.starts_with("corp.example/"), "a private module was parsed", target);
  if (s.path.starts_with("lookup/") || s.tile) {
    require(s.store_key == "sumdb/sum.example/" + s.path, "store key is not the path", target);
  } else {
    require(s.path == "latest" && s.store_key.empty(), "an unexpected path", s.path);
  }
  const auto again = parse("/sumdb/sum.example/" + s.path);
  const auto* s2 = std::get_if<proxy::SumdbRequest>(&again);
  require(s2 != nullptr && s2->path == s.path && s2->module == s.module &&
              s2->version == s.version && s2->store_key == s.store_key,
          "the canonical path does not parse to the same request", s.path);
  return 0;
}
