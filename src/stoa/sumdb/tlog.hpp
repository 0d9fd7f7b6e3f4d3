#pragma once
// The transparent log (golang.org/x/mod/sumdb/tlog; RFC 6962 hashing): record and node hashes,
// the stored-hash index order, tree hashes, record (inclusion) and tree (consistency) proofs,
// tree notes and lookup records. Differentially tested against x/mod.
//
// Pure and thread-safe. Parsers take untrusted bytes and never throw (except std::bad_alloc);
// functions over tree sizes and indexes return a Failure (or false) for out-of-range inputs
// rather than relying on preconditions.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/sumdb/result.hpp"

namespace stoa::sumdb {

inline constexpr std::size_t k_hash_size = 32;
using Hash = std::array<std::uint8_t, k_hash_size>;

// stoa's bound on tree sizes (x/mod has none; the public database holds under 2^27 records). Keeps
// every index computation far from int64 overflow. Larger trees are refused.
inline constexpr std::int64_t k_max_tree_size = std::int64_t{1} << 48;

std::string to_base64(const Hash& h);                  // tlog.Hash.String
std::optional<Hash> parse_hash(std::string_view b64);  // tlog.ParseHash

Hash record_hash(std::string_view data);              // SHA-256(0x00 || data)
Hash node_hash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
Hash empty_tree_hash();                               // SHA-256 of nothing

// tlog.StoredHashIndex: the position of hash (level, n) in the dense storage order.
// Requires 0 <= level <= 63 and 0 <= n with the result below 2^62 (true within k_max_tree_size).
std::int64_t stored_hash_index(int level, std::int64_t n);
// tlog.SplitStoredHashIndex, its inverse. Requires 0 <= index < 2^62.
struct LevelIndex {
  int level;
  std::int64_t n;
};
LevelIndex split_stored_hash_index(std::int64_t index);
// tlog.StoredHashCount: stored hashes for a tree of n records (0 <= n <= k_max_tree_size).
std::int64_t stored_hash_count(std::int64_t n);

// Where hashes come from: implementations return one hash per index, in order, or a Failure.
// They may throw for failures that are not about the data (transport, I/O).
class HashReader {
 public:
  virtual ~HashReader() = default;
  virtual Result<std::vector<Hash>> read_hashes(std::span<const std::int64_t> indexes) = 0;
};

// tlog.StoredHashes: the hashes to append when adding record n with hash `record`.
Result<std::vector<Hash>> stored_hashes_for_record_hash(std::int64_t n, const Hash& record,
                                                        HashReader& reader);

// tlog.TreeHash: the root hash of the tree of n records (one read_hashes call, none for n == 0).
Result<Hash> tree_hash(std::int64_t n, HashReader& reader);

using RecordProof = std::vector<Hash>;
using TreeProof = std::vector<Hash>;

// tlog.ProveRecord / CheckRecord: that the tree of size t (hash th) has record n with hash h.
Result<RecordProof> prove_record(std::int64_t t, std::int64_t n, HashReader& reader);
bool check_record(std::span<const Hash> proof, std::int64_t t, const Hash& th, std::int64_t n,
                  const Hash& h);

// tlog.ProveTree / CheckTree: that the tree of size t (hash th) extends the tree of size n
// (hash h).
Result<TreeProof> prove_tree(std::int64_t t, std::int64_t n, HashReader& reader);
bool check_tree(std::span<const Hash> proof, std::int64_t t, const Hash& th, std::int64_t n,
                const Hash& h);

// A signed tree head's text: "go.sum database tree\n<N>\n<base64 hash>\n" (tlog.Tree).
struct Tree {
  std::int64_t n = 0;
  Hash hash{};
  friend bool operator==(const Tree&, const Tree&) = default;
};

std::string format_tree(const Tree& tree);  // tlog.FormatTree
// tlog.ParseTree: the prefix line, N canonical decimal >= 0, the hash; at least three lines;
// extra lines are ignored (forward compatibility); at most 1e6 bytes.
std::optional<Tree> parse_tree(std::string_view text);

// tlog.isValidRecordText: valid UTF-8, no control characters but '\n', no blank line, ends in
// '\n'.
bool is_valid_record_text(std::string_view text);

// A lookup response: "<id>\n<record text>\n<rest>", the record text ending at the first blank
// line; `rest` is the signed tree note. Views into the parsed message.
struct Record {
  std::int64_t id = 0;  // strconv.ParseInt: may be negative, may have had leading zeros
  std::string_view text;
  std::string_view rest;
};
std::optional<Record> parse_record(std::string_view msg);  // tlog.ParseRecord
// tlog.FormatRecord: nullopt when the text is not valid record text.
std::optional<std::string> format_record(std::int64_t id, std::string_view text);

}  // namespace stoa::sumdb
