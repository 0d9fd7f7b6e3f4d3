// Tiles served by a checksum database (or a GOPROXY's /sumdb/ endpoint). Input: a tile path line,
// a hash index line (decimal), then tile data. Checks parse_tile_path (canonical form only,
// round trip through tile_path), hash_from_tile on the data, and data tiles against hash tiles.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/sumdb/text.hpp"
#include "stoa/sumdb/tile.hpp"

namespace {

using stoa::fuzz::require;
namespace sumdb = stoa::sumdb;

void check_path(std::string_view path) {
  const auto t = sumdb::parse_tile_path(path);
  if (!t) return;
  require(sumdb::valid_tile(*t), "a parsed tile is not valid", path);
  require(sumdb::tile_path(*t) == path, "tile_path(parse_tile_path(p)) != p", path);
}

void check_hash_from_tile(std::string_view path, std::int64_t index, std::string_view data) {
  const auto t = sumdb::parse_tile_path(path);
  if (!t || t->l < 0) return;
  const auto h = sumdb::hash_from_tile(*t, data, index);
  if (h) {
    require(data.size() >= static_cast<std::size_t>(t->w) * sumdb::k_hash_size,
            "hash_from_tile read a hash from short data", path);
  } else {
    require(!h.error().empty(), "hash_from_tile failed without a reason", path);
  }
}

void check_tile_for_index(std::int64_t index) {
  if (index < 0 || index >= (std::int64_t{1} << 62)) return;
  for (const int h : {1, 8, 30}) {
    const auto t = sumdb::tile_for_index(h, index);
    require(sumdb::valid_tile(t), "tile_for_index gave an invalid tile", std::to_string(index));
    require(sumdb::parse_tile_path(sumdb::tile_path(t)) == t, "tile path does not round-trip",
            sumdb::tile_path(t));
  }
}

void check_data(std::string_view data) {
  const auto records = sumdb::parse_data_tile(data);
  if (!records) return;
  std::string hashes;
  for (const auto& r : *records) {
    require(sumdb::is_valid_record_text(r), "a data tile record is not valid record text", r);
    const auto h = sumdb::record_hash(r);
    hashes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  const auto checked = sumdb::check_data_tile(data, hashes);
  require(checked.ok() && *checked == *records, "a data tile does not match its own hashes", data);
  if (!hashes.empty()) {
    hashes[hashes.size() / 2] ^= 1;
    require(!sumdb::check_data_tile(data, hashes).ok(), "a data tile matches a changed hash", data);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = stoa::fuzz::fields(stoa::fuzz::as_text(data, size), 3);
  check_path(f[0]);
  const auto index = sumdb::detail::parse_int64(f[1]).value_or(0);
  check_hash_from_tile(f[0], index, f[2]);
  check_tile_for_index(index);
  check_data(f[2]);
  check_path(f[2]);
  return 0;
}
