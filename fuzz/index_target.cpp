// proxy::parse_index_query on a raw /index or /catalog target (the input, or "/index?" + the
// input when it does not start with '/'): never throws; a refusal is a 400 of one line; a
// parsed query has a limit within its endpoint's bounds, and the parameters of one
// endpoint never set the other's fields.

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "check.hpp"
#include "stoa/proxy/index_endpoint.hpp"

namespace {

using stoa::fuzz::one_line;
using stoa::fuzz::require;
namespace proxy = stoa::proxy;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = stoa::fuzz::as_text(data, size);
  const std::string target = in.starts_with("/") ? std::string(in) : "/index?" + std::string(in);
  const auto got = proxy::parse_index_query(target);
  if (const auto* refused = std::get_if<proxy::Response>(&got)) {
    require(refused->status == 400, "a refusal is not 400", target);
    require(one_line(refused->body), "a refusal is not one line", refused->body);
    return 0;
  }
  const auto& q = std::get<proxy::IndexQuery>(got);
  const std::size_t max = q.catalog ? proxy::k_catalog_max : proxy::k_feed_max;
  require(q.limit >= 1 && q.limit <= max, "limit out of bounds", target);
  if (q.catalog) {
    require(q.since_ns == 0, "a catalog query has a since", target);
  } else {
    require(q.from == stoa::index::Cursor{}, "an index query has a cursor", target);
    require(q.since_ns >= 0, "since before 1970", target);
  }
  return 0;
}
