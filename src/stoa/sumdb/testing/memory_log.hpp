#pragma once
// Tests only: an append-only log held in memory (records and stored hashes), built with the
// functions under test, to produce trees, tiles and proofs without the oracle.

#include <stdexcept>
#include <string>
#include <vector>

#include "stoa/sumdb/tile.hpp"
#include "stoa/sumdb/tlog.hpp"

namespace stoa::sumdb::testing {

class MemoryLog final : public HashReader {
 public:
  Result<std::vector<Hash>> read_hashes(std::span<const std::int64_t> indexes) override {
    std::vector<Hash> out;
    for (const auto x : indexes) {
      if (x < 0 || x >= static_cast<std::int64_t>(m_hashes.size())) {
        return Failure{"index out of range"};
      }
      out.push_back(m_hashes[static_cast<std::size_t>(x)]);
    }
    ++m_reads;
    return out;
  }

  void add(const std::string& text) {
    auto hs = stored_hashes_for_record_hash(static_cast<std::int64_t>(m_records.size()),
                                            record_hash(text), *this);
    if (!hs) throw std::runtime_error(hs.error());
    m_records.push_back(text);
    m_hashes.insert(m_hashes.end(), hs->begin(), hs->end());
  }

  std::int64_t size() const { return static_cast<std::int64_t>(m_records.size()); }
  const std::vector<std::string>& records() const { return m_records; }
  const std::vector<Hash>& hashes() const { return m_hashes; }
  int reads() const { return m_reads; }

  Tree tree(std::int64_t n) {
    auto h = tree_hash(n, *this);
    if (!h) throw std::runtime_error(h.error());
    return Tree{n, *h};
  }

  // The data of hash tile t (tlog.ReadTileData).
  std::string tile_data(const Tile& t) {
    std::string data;
    for (int i = 0; i < t.w; ++i) {
      const auto idx = stored_hash_index(t.h * t.l, (t.n << t.h) + i);
      const Hash& h = m_hashes.at(static_cast<std::size_t>(idx));
      data.append(reinterpret_cast<const char*>(h.data()), h.size());
    }
    return data;
  }

 private:
  std::vector<std::string> m_records;
  std::vector<Hash> m_hashes;
  int m_reads = 0;
};

}  // namespace stoa::sumdb::testing
