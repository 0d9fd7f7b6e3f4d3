#include "stoa/sumdb/tlog.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

using Hashes = std::span<const Hash>;

Hash sha256(const void* data, std::size_t size) {
  Hash h{};
  SHA256(static_cast<const unsigned char*>(data), size, h.data());
  return h;
}

// The largest power of two smaller than n (for n >= 2), and its log; (1, 0) for n <= 2.
std::pair<std::int64_t, int> maxpow2(std::int64_t n) {
  int l = 0;
  while ((std::int64_t{1} << (l + 1)) < n) ++l;
  return {std::int64_t{1} << l, l};
}

bool valid_size(std::int64_t n) { return n >= 0 && n <= k_max_tree_size; }

Failure short_read(std::size_t want, std::size_t got) {
  return Failure{"tlog: read_hashes(" + std::to_string(want) +
                 " indexes) = " + std::to_string(got) + " hashes"};
}

// Storage indexes of the complete subtrees whose hashes make up the hash of records [lo, hi).
void sub_tree_index(std::int64_t lo, std::int64_t hi, std::vector<std::int64_t>& need) {
  while (lo < hi) {
    const auto [k, level] = maxpow2(hi - lo + 1);
    need.push_back(stored_hash_index(level, lo >> level));
    lo += k;
  }
}

// The hash of records [lo, hi) from the hashes sub_tree_index listed; consumes them.
Hash sub_tree_hash(std::int64_t lo, std::int64_t hi, Hashes& hashes) {
  std::size_t count = 0;
  for (; lo < hi; ++count) lo += maxpow2(hi - lo + 1).first;
  Hash h = hashes[count - 1];
  for (std::size_t i = count - 1; i-- > 0;) h = node_hash(hashes[i], h);
  hashes = hashes.subspan(count);
  return h;
}

// RFC 6962 2.1.1: indexes for the proof that leaf n is in the subtree [lo, hi).
void leaf_proof_index(std::int64_t lo, std::int64_t hi, std::int64_t n,
                      std::vector<std::int64_t>& need) {
  if (lo + 1 == hi) return;
  const std::int64_t k = maxpow2(hi - lo).first;
  if (n < lo + k) {
    leaf_proof_index(lo, lo + k, n, need);
    sub_tree_index(lo + k, hi, need);
  } else {
    sub_tree_index(lo, lo + k, need);
    leaf_proof_index(lo + k, hi, n, need);
  }
}

void leaf_proof(std::int64_t lo, std::int64_t hi, std::int64_t n, Hashes& hashes,
                RecordProof& proof) {
  if (lo + 1 == hi) return;  // the verifier knows the leaf
  const std::int64_t k = maxpow2(hi - lo).first;
  Hash other;
  if (n < lo + k) {
    leaf_proof(lo, lo + k, n, hashes, proof);
    other = sub_tree_hash(lo + k, hi, hashes);
  } else {
    other = sub_tree_hash(lo, lo + k, hashes);
    leaf_proof(lo + k, hi, n, hashes, proof);
  }
  proof.push_back(other);
}

// The hash of [lo, hi) implied by the proof for leaf n with hash `leaf`; nullopt if the proof
// has the wrong length.
std::optional<Hash> run_record_proof(Hashes p, std::int64_t lo, std::int64_t hi, std::int64_t n,
                                     const Hash& leaf) {
  if (lo + 1 == hi) {
    if (!p.empty()) return std::nullopt;
    return leaf;
  }
  if (p.empty()) return std::nullopt;
  const std::int64_t k = maxpow2(hi - lo).first;
  const Hash& last = p.back();
  const Hashes rest = p.first(p.size() - 1);
  if (n < lo + k) {
    const auto th = run_record_proof(rest, lo, lo + k, n, leaf);
    if (!th) return std::nullopt;
    return node_hash(*th, last);
  }
  const auto th = run_record_proof(rest, lo + k, hi, n, leaf);
  if (!th) return std::nullopt;
  return node_hash(last, *th);
}

// RFC 6962 2.1.2: indexes for the consistency sub-proof of [lo, hi) with the old size n.
void tree_proof_index(std::int64_t lo, std::int64_t hi, std::int64_t n,
                      std::vector<std::int64_t>& need) {
  if (n == hi) {
    if (lo != 0) sub_tree_index(lo, hi, need);
    return;
  }
  const std::int64_t k = maxpow2(hi - lo).first;
  if (n <= lo + k) {
    tree_proof_index(lo, lo + k, n, need);
    sub_tree_index(lo + k, hi, need);
  } else {
    sub_tree_index(lo, lo + k, need);
    tree_proof_index(lo + k, hi, n, need);
  }
}

void tree_proof(std::int64_t lo, std::int64_t hi, std::int64_t n, Hashes& hashes,
                TreeProof& proof) {
  if (n == hi) {
    // Common ground: the old tree itself needs no hash (the verifier has it).
    if (lo != 0) proof.push_back(sub_tree_hash(lo, hi, hashes));
    return;
  }
  const std::int64_t k = maxpow2(hi - lo).first;
  Hash other;
  if (n <= lo + k) {
    tree_proof(lo, lo + k, n, hashes, proof);
    other = sub_tree_hash(lo + k, hi, hashes);
  } else {
    other = sub_tree_hash(lo, lo + k, hashes);
    tree_proof(lo + k, hi, n, hashes, proof);
  }
  proof.push_back(other);
}

// The (old, new) hashes of [lo, hi) implied by the sub-proof; nullopt on a wrong length.
std::optional<std::pair<Hash, Hash>> run_tree_proof(Hashes p, std::int64_t lo, std::int64_t hi,
                                                    std::int64_t n, const Hash& old) {
  if (n == hi) {
    if (lo == 0) {
      if (!p.empty()) return std::nullopt;
      return std::pair{old, old};
    }
    if (p.size() != 1) return std::nullopt;
    return std::pair{p[0], p[0]};
  }
  if (p.empty()) return std::nullopt;
  const std::int64_t k = maxpow2(hi - lo).first;
  const Hash& last = p.back();
  const Hashes rest = p.first(p.size() - 1);
  if (n <= lo + k) {
    const auto r = run_tree_proof(rest, lo, lo + k, n, old);
    if (!r) return std::nullopt;
    return std::pair{r->first, node_hash(r->second, last)};
  }
  const auto r = run_tree_proof(rest, lo + k, hi, n, old);
  if (!r) return std::nullopt;
  return std::pair{node_hash(last, r->first), node_hash(last, r->second)};
}

// Reads `indexes` and checks the reader kept its contract.
Result<std::vector<Hash>> read_all(HashReader& reader, const std::vector<std::int64_t>& indexes) {
  auto hashes = reader.read_hashes(indexes);
  if (hashes && hashes->size() != indexes.size()) return short_read(indexes.size(), hashes->size());
  return hashes;
}

constexpr std::string_view k_tree_prefix = "go.sum database tree\n";

}  // namespace

std::string to_base64(const Hash& h) {
  return detail::encode_base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

std::optional<Hash> parse_hash(std::string_view b64) {
  const auto bytes = detail::decode_base64(b64);
  if (!bytes || bytes->size() != k_hash_size) return std::nullopt;
  Hash h{};
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

Hash record_hash(std::string_view data) {
  std::string buf;
  buf.reserve(1 + data.size());
  buf += '\0';
  buf += data;
  return sha256(buf.data(), buf.size());
}

Hash node_hash(const Hash& left, const Hash& right) {
  std::array<std::uint8_t, 1 + 2 * k_hash_size> buf{};
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 1 + k_hash_size);
  return sha256(buf.data(), buf.size());
}

Hash empty_tree_hash() { return sha256("", 0); }

std::int64_t stored_hash_index(int level, std::int64_t n) {
  // Level L's n'th hash is written right after level L+1's 2n+1'th hash: walk down to level 0,
  // where hash n sits at n + n/2 + n/4 + ..., then add the levels back.
  for (int l = level; l > 0; --l) n = 2 * n + 1;
  std::int64_t i = 0;
  for (; n > 0; n >>= 1) i += n;
  return i + level;
}

LevelIndex split_stored_hash_index(std::int64_t index) {
  // stored_hash_index(0, n) < 2n, so the record that committed this hash is in
  // [index/2, index/2 + log2(index)].
  std::int64_t n = index / 2;
  std::int64_t index_n = stored_hash_index(0, n);
  for (;;) {
    // Record n adds 1 + trailing_zeros(n+1) hashes.
    const std::int64_t x = index_n + 1 + std::countr_zero(static_cast<std::uint64_t>(n + 1));
    if (x > index) break;
    ++n;
    index_n = x;
  }
  const int level = static_cast<int>(index - index_n);
  return {level, n >> level};
}

std::int64_t stored_hash_count(std::int64_t n) {
  if (n <= 0) return 0;
  std::int64_t count = stored_hash_index(0, n - 1) + 1;
  for (auto i = static_cast<std::uint64_t>(n - 1); (i & 1) != 0; i >>= 1) ++count;
  return count;
}

Result<std::vector<Hash>> stored_hashes_for_record_hash(std::int64_t n, const Hash& record,
                                                        HashReader& reader) {
  if (n < 0 || n >= k_max_tree_size) return Failure{"tlog: invalid record number"};
  const int m = std::countr_zero(static_cast<std::uint64_t>(n + 1));
  std::vector<std::int64_t> indexes(static_cast<std::size_t>(m));
  for (int i = 0; i < m; ++i) {
    indexes[static_cast<std::size_t>(m - 1 - i)] = stored_hash_index(i, (n >> i) - 1);
  }
  auto old = read_all(reader, indexes);
  if (!old) return old.failure();
  std::vector<Hash> hashes{record};
  Hash h = record;
  for (int i = 0; i < m; ++i) {
    h = node_hash((*old)[static_cast<std::size_t>(m - 1 - i)], h);
    hashes.push_back(h);
  }
  return hashes;
}

Result<Hash> tree_hash(std::int64_t n, HashReader& reader) {
  if (!valid_size(n)) return Failure{"tlog: invalid tree size"};
  if (n == 0) return empty_tree_hash();
  std::vector<std::int64_t> indexes;
  sub_tree_index(0, n, indexes);
  auto hashes = read_all(reader, indexes);
  if (!hashes) return hashes.failure();
  Hashes rest(*hashes);
  return sub_tree_hash(0, n, rest);
}

Result<RecordProof> prove_record(std::int64_t t, std::int64_t n, HashReader& reader) {
  if (!valid_size(t) || n < 0 || n >= t) return Failure{"tlog: invalid inputs in prove_record"};
  std::vector<std::int64_t> indexes;
  leaf_proof_index(0, t, n, indexes);
  if (indexes.empty()) return RecordProof{};
  auto hashes = read_all(reader, indexes);
  if (!hashes) return hashes.failure();
  Hashes rest(*hashes);
  RecordProof proof;
  leaf_proof(0, t, n, rest, proof);
  return proof;
}

bool check_record(std::span<const Hash> proof, std::int64_t t, const Hash& th, std::int64_t n,
                  const Hash& h) {
  if (!valid_size(t) || n < 0 || n >= t) return false;
  const auto root = run_record_proof(proof, 0, t, n, h);
  return root && *root == th;
}

Result<TreeProof> prove_tree(std::int64_t t, std::int64_t n, HashReader& reader) {
  if (!valid_size(t) || t < 1 || n < 1 || n > t) {
    return Failure{"tlog: invalid inputs in prove_tree"};
  }
  std::vector<std::int64_t> indexes;
  tree_proof_index(0, t, n, indexes);
  if (indexes.empty()) return TreeProof{};
  auto hashes = read_all(reader, indexes);
  if (!hashes) return hashes.failure();
  Hashes rest(*hashes);
  TreeProof proof;
  tree_proof(0, t, n, rest, proof);
  return proof;
}

bool check_tree(std::span<const Hash> proof, std::int64_t t, const Hash& th, std::int64_t n,
                const Hash& h) {
  if (!valid_size(t) || t < 1 || n < 1 || n > t) return false;
  const auto r = run_tree_proof(proof, 0, t, n, h);
  return r && r->first == h && r->second == th;
}

std::string format_tree(const Tree& tree) {
  return std::string(k_tree_prefix) + std::to_string(tree.n) + "\n" + to_base64(tree.hash) + "\n";
}

std::optional<Tree> parse_tree(std::string_view text) {
  if (text.substr(0, k_tree_prefix.size()) != k_tree_prefix || text.size() > 1'000'000 ||
      std::count(text.begin(), text.end(), '\n') < 3) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(k_tree_prefix.size());
  const auto nl1 = rest.find('\n');
  const std::string_view n_line = rest.substr(0, nl1);
  rest.remove_prefix(nl1 + 1);
  const std::string_view hash_line = rest.substr(0, rest.find('\n'));
  const auto n = detail::parse_canonical_uint(n_line);
  const auto hash = parse_hash(hash_line);
  if (!n || !hash) return std::nullopt;
  return Tree{*n, *hash};
}

bool is_valid_record_text(std::string_view text) {
  char32_t last = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto r = detail::decode_rune(text, i);
    if ((r.value < 0x20 && r.value != U'\n') || (r.value == detail::k_rune_error && r.size == 1) ||
        (last == U'\n' && r.value == U'\n')) {
      return false;
    }
    i += r.size;
    last = r.value;
  }
  return last == U'\n';
}

std::optional<Record> parse_record(std::string_view msg) {
  const auto nl = msg.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  const auto id = detail::parse_int64(msg.substr(0, nl));
  if (!id) return std::nullopt;
  msg.remove_prefix(nl + 1);
  const auto blank = msg.find("\n\n");
  if (blank == std::string_view::npos) return std::nullopt;
  Record r{*id, msg.substr(0, blank + 1), msg.substr(blank + 2)};
  if (!is_valid_record_text(r.text)) return std::nullopt;
  return r;
}

std::optional<std::string> format_record(std::int64_t id, std::string_view text) {
  if (!is_valid_record_text(text)) return std::nullopt;
  std::string msg = std::to_string(id);
  msg += '\n';
  msg += text;
  msg += '\n';
  return msg;
}

}  // namespace stoa::sumdb
