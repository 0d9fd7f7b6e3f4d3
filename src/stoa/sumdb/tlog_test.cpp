#include "stoa/sumdb/tlog.hpp"
#include "stoa/text/ascii.hpp"

#include <gtest/gtest.h>

#include <random>

#include "stoa/sumdb/testing/memory_log.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

using testing::MemoryLog;

// RFC 6962 MTH, straight from the definition.
Hash mth(const std::vector<std::string>& records, std::size_t lo, std::size_t hi) {
  if (hi == lo) return empty_tree_hash();
  if (hi - lo == 1) return record_hash(records[lo]);
  std::size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return node_hash(mth(records, lo, lo + k), mth(records, lo + k, hi));
}

MemoryLog log_of(int n) {
  MemoryLog log;
  for (int i = 0; i < n; ++i) log.add("record " + std::to_string(i) + "\n");
  return log;
}

TEST(Hashes, Definitions) {
  EXPECT_EQ(to_base64(empty_tree_hash()), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  // RFC 6962 leaf and node prefixes: changing either changes the hash.
  EXPECT_NE(record_hash("a"), empty_tree_hash());
  const Hash a = record_hash("a");
  const Hash b = record_hash("b");
  EXPECT_NE(node_hash(a, b), node_hash(b, a));
  EXPECT_EQ(parse_hash(to_base64(a)), a);
  EXPECT_EQ(parse_hash("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"), std::nullopt);
  EXPECT_EQ(parse_hash("AAAA"), std::nullopt);
}

TEST(StoredHashIndex, RoundTripsAndCounts) {
  for (int level = 0; level < 20; ++level) {
    for (std::int64_t n = 0; n < 300; ++n) {
      const auto idx = stored_hash_index(level, n);
      const auto back = split_stored_hash_index(idx);
      ASSERT_EQ(back.level, level) << idx;
      ASSERT_EQ(back.n, n) << idx;
    }
  }
  MemoryLog log;
  for (int n = 0; n < 600; ++n) {
    ASSERT_EQ(stored_hash_count(n), static_cast<std::int64_t>(log.hashes().size())) << n;
    log.add(std::to_string(n) + "\n");
  }
  // Every index is some (level, n).
  for (std::int64_t idx = 0; idx < 2000; ++idx) {
    const auto s = split_stored_hash_index(idx);
    ASSERT_EQ(stored_hash_index(s.level, s.n), idx);
  }
}

TEST(TreeHash, MatchesTheDefinition) {
  MemoryLog log = log_of(130);
  for (std::int64_t n = 0; n <= log.size(); ++n) {
    auto h = tree_hash(n, log);
    ASSERT_TRUE(h) << h.error();
    EXPECT_EQ(*h, mth(log.records(), 0, static_cast<std::size_t>(n))) << n;
  }
  EXPECT_FALSE(tree_hash(-1, log));
  EXPECT_FALSE(tree_hash(k_max_tree_size + 1, log));
  EXPECT_FALSE(tree_hash(log.size() + 1, log)) << "reader has no such hashes";
}

TEST(RecordProof, ProvesEveryRecordAndRejectsTampering) {
  MemoryLog log = log_of(70);
  for (std::int64_t t = 1; t <= log.size(); ++t) {
    const Tree tree = log.tree(t);
    for (std::int64_t n = 0; n < t; ++n) {
      const Hash leaf = record_hash(log.records()[static_cast<std::size_t>(n)]);
      auto p = prove_record(t, n, log);
      ASSERT_TRUE(p) << p.error();
      ASSERT_TRUE(check_record(*p, t, tree.hash, n, leaf)) << t << " " << n;
      EXPECT_FALSE(check_record(*p, t, tree.hash, n, record_hash("other\n")));
      if (n + 1 < t) {
        EXPECT_FALSE(check_record(*p, t, tree.hash, n + 1, leaf));
      }
      auto longer = *p;
      longer.push_back(leaf);
      EXPECT_FALSE(check_record(longer, t, tree.hash, n, leaf));
      if (!p->empty()) {
        auto shorter = *p;
        shorter.pop_back();
        EXPECT_FALSE(check_record(shorter, t, tree.hash, n, leaf));
        auto changed = *p;
        changed[0][0] ^= 1;
        EXPECT_FALSE(check_record(changed, t, tree.hash, n, leaf));
      }
    }
  }
  EXPECT_FALSE(prove_record(5, 5, log));
  EXPECT_FALSE(prove_record(5, -1, log));
  EXPECT_FALSE(check_record({}, 5, Hash{}, 5, Hash{}));
  EXPECT_FALSE(check_record({}, 0, Hash{}, 0, Hash{}));
}

TEST(TreeProof, ProvesEveryPrefixAndRejectsTampering) {
  MemoryLog log = log_of(70);
  for (std::int64_t t = 1; t <= log.size(); ++t) {
    const Tree big = log.tree(t);
    for (std::int64_t n = 1; n <= t; ++n) {
      const Tree small = log.tree(n);
      auto p = prove_tree(t, n, log);
      ASSERT_TRUE(p) << p.error();
      ASSERT_TRUE(check_tree(*p, t, big.hash, n, small.hash)) << t << " " << n;
      Hash wrong = small.hash;
      wrong[31] ^= 0x80;
      EXPECT_FALSE(check_tree(*p, t, big.hash, n, wrong));
      EXPECT_FALSE(check_tree(*p, t, wrong, n, small.hash));
      if (!p->empty()) {
        auto changed = *p;
        changed.back()[5] ^= 1;
        EXPECT_FALSE(check_tree(changed, t, big.hash, n, small.hash));
        auto shorter = *p;
        shorter.pop_back();
        EXPECT_FALSE(check_tree(shorter, t, big.hash, n, small.hash));
      }
    }
  }
  EXPECT_FALSE(prove_tree(5, 0, log));
  EXPECT_FALSE(prove_tree(5, 6, log));
  EXPECT_FALSE(check_tree({}, 0, Hash{}, 0, Hash{}));
}

TEST(TreeNote, ParseTable) {
  const std::string h = "nND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI=";
  const std::string p = "go.sum database tree\n";
  struct Case {
    std::string text;
    std::optional<std::int64_t> n;
  };
  const Case cases[] = {
      {p + "2\n" + h + "\n", 2},
      {p + "0\n" + h + "\n", 0},
      {p + "2\n" + h + "\nextra line\nmore\n", 2},  // forward compatibility
      {p + "2\n" + h + "\n\n", 2},
      {p + "9223372036854775807\n" + h + "\n", 9223372036854775807},
      {p + "9223372036854775808\n" + h + "\n", std::nullopt},
      {p + "02\n" + h + "\n", std::nullopt},
      {p + "+2\n" + h + "\n", std::nullopt},
      {p + "-2\n" + h + "\n", std::nullopt},
      {p + "-0\n" + h + "\n", std::nullopt},
      {p + " 2\n" + h + "\n", std::nullopt},
      {p + "\n" + h + "\n", std::nullopt},
      {p + "2\n" + h, std::nullopt},  // only two newlines
      {p + "2\n" + h.substr(4) + "\n", std::nullopt},
      {p + "2\nAAAA\n", std::nullopt},
      {p + "2\n" + h + "=\n", std::nullopt},
      {"go.sum database tree v2\n2\n" + h + "\n", std::nullopt},
      {"Go.sum database tree\n2\n" + h + "\n", std::nullopt},
      {"", std::nullopt},
      {p, std::nullopt},
      {p + "2\n" + h + "\n" + std::string(1'000'000, 'x'), std::nullopt},
  };
  for (const auto& c : cases) {
    const auto t = parse_tree(c.text);
    ASSERT_EQ(t.has_value(), c.n.has_value()) << c.text.substr(0, 120);
    if (t) {
      EXPECT_EQ(t->n, *c.n);
      EXPECT_EQ(to_base64(t->hash), h);
    }
  }
  const Tree tree{12345, *parse_hash(h)};
  EXPECT_EQ(format_tree(tree), p + "12345\n" + h + "\n");
  EXPECT_EQ(parse_tree(format_tree(tree)), tree);
}

TEST(Record, ParseTable) {
  struct Case {
    std::string msg;
    std::optional<std::int64_t> id;
    std::string text;
    std::string rest;
  };
  const Case cases[] = {
      {"5\na b h1:x\na b/go.mod h1:y\n\nnote", 5, "a b h1:x\na b/go.mod h1:y\n", "note"},
      {"0\nx\n\n", 0, "x\n", ""},
      {"007\nx\n\nr", 7, "x\n", "r"},  // strconv.ParseInt accepts leading zeros and signs
      {"+7\nx\n\nr", 7, "x\n", "r"},
      {"-7\nx\n\nr", -7, "x\n", "r"},
      {"5\nx\n\n\n\n", 5, "x\n", "\n\n"},
      {"5\n\xC3\xA9\n\n", 5, "\xC3\xA9\n", ""},
      {"5\n\n\n", 5, "\n", ""},  // a lone newline is valid record text (x/mod agrees)
      {"5\n\n", std::nullopt, "", ""},
      {"5\nx\n", std::nullopt, "", ""},  // no blank line
      {"5", std::nullopt, "", ""},
      {"\nx\n\n", std::nullopt, "", ""},
      {"5 \nx\n\n", std::nullopt, "", ""},
      {"99999999999999999999\nx\n\n", std::nullopt, "", ""},
      {"5\nx\ty\n\n", std::nullopt, "", ""},
      {"5\nx\ry\n\n", std::nullopt, "", ""},
      {"5\nx\xFF\n\n", std::nullopt, "", ""},
      {std::string("5\nx\0\n\n", 6), std::nullopt, "", ""},
      {"", std::nullopt, "", ""},
  };
  for (const auto& c : cases) {
    const auto r = parse_record(c.msg);
    ASSERT_EQ(r.has_value(), c.id.has_value()) << stoa::text::to_hex(c.msg);
    if (r) {
      EXPECT_EQ(r->id, *c.id);
      EXPECT_EQ(r->text, c.text);
      EXPECT_EQ(r->rest, c.rest);
    }
  }
  EXPECT_EQ(format_record(3, "a\nb\n"), "3\na\nb\n\n");
  EXPECT_EQ(format_record(3, "a\n\nb\n"), std::nullopt);
  EXPECT_EQ(format_record(3, "a"), std::nullopt);
  EXPECT_EQ(format_record(3, ""), std::nullopt);
}

TEST(Parsers, SurviveGarbage) {
  std::mt19937 rng(777);
  const std::string seeds[] = {
      "go.sum database tree\n2\nnND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI=\n",
      "5\na b h1:x\na b/go.mod h1:y\n\ngo.sum database tree\n",
  };
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[i % 2];
    for (int e = 0; e < 3; ++e) {
      const std::size_t at = rng() % (s.size() + 1);
      if (rng() % 2 == 0 && at < s.size()) {
        s[at] = static_cast<char>(rng());
      } else {
        s.insert(at, 1, "\n0=+x\xC3"[rng() % 6]);
      }
    }
    (void)parse_tree(s);
    if (const auto r = parse_record(s)) {
      EXPECT_TRUE(is_valid_record_text(r->text));
      EXPECT_LE(r->text.size() + r->rest.size(), s.size());
    }
  }
}

}  // namespace
}  // namespace stoa::sumdb
