// The Client against checksum databases built by golang.org/x/mod's sumdb server
// (tests/oracle/sumdbgen): good lookups at every published tree size, and every way the
// database can lie.

#include "stoa/sumdb/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <sstream>
#include <thread>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/sumdb/state.hpp"
#include "stoa/sumdb/testing/oracle.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

using testing::Database;
using testing::DirFetcher;
using testing::RecordInfo;

const Database& db(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Database>> dbs;
  static std::mutex mu;
  const std::lock_guard lock(mu);
  auto& d = dbs[name];
  if (!d) d = std::make_unique<Database>(name);
  return *d;
}

const RecordInfo& record(const Database& d, std::int64_t id) {
  for (const auto& r : d.records) {
    if (r.id == id) return r;
  }
  throw std::runtime_error("no lookup for record " + std::to_string(id));
}

// A TileCache that counts, over a memory cache.
class CountingCache final : public TileCache {
 public:
  std::optional<std::string> get(const std::string& path) override {
    ++gets;
    return m_inner->get(path);
  }
  void put(const std::string& path, std::string_view data) override {
    ++puts;
    m_inner->put(path, data);
    const std::lock_guard lock(m_mu);
    m_put[path] = std::string(data);
  }
  // Every tile ever put must be the database's own: the cache is trusted forever.
  void expect_only_tiles_of(const Database& d) {
    const std::lock_guard lock(m_mu);
    for (const auto& [path, data] : m_put) {
      EXPECT_EQ(data, testing::read_file(d.dir / path)) << path << " is not the log's tile";
    }
  }
  int partial_puts() {
    const std::lock_guard lock(m_mu);
    int n = 0;
    for (const auto& entry : m_put) n += entry.first.find(".p/") != std::string::npos ? 1 : 0;
    return n;
  }
  std::atomic<int> gets{0};
  std::atomic<int> puts{0};

 private:
  std::mutex m_mu;
  std::map<std::string, std::string> m_put;
  std::unique_ptr<TileCache> m_inner = make_memory_tile_cache();
};

// A LookupCache over a map, write-once like the store.
class MapLookupCache final : public LookupCache {
 public:
  std::optional<std::string> get(const std::string& path) override {
    const std::lock_guard lock(m_mu);
    const auto it = m_kept.find(path);
    if (it == m_kept.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& path, std::string_view answer) override {
    const std::lock_guard lock(m_mu);
    m_kept.emplace(path, std::string(answer));
  }
  std::size_t size() {
    const std::lock_guard lock(m_mu);
    return m_kept.size();
  }

 private:
  std::mutex m_mu;
  std::map<std::string, std::string> m_kept;
};

struct Harness {
  explicit Harness(const Database& d, std::optional<std::string> initial_state = {},
                   std::size_t record_cache = 4096, bool keep_lookups = false)
      : fetcher(d), state(make_memory_tree_state(std::move(initial_state))) {
    ClientOptions o;
    o.name = "sumdb.test";
    o.verifier_key = db("main").vkey;
    o.record_cache_entries = record_cache;
    client = std::make_unique<Client>(o, fetcher, cache, *state, keep_lookups ? &lookups : nullptr);
  }
  DirFetcher fetcher;
  CountingCache cache;
  MapLookupCache lookups;
  std::unique_ptr<TreeState> state;
  std::unique_ptr<Client> client;
};

void expect_found(Client& c, const RecordInfo& r) {
  const Lookup l = c.lookup(r.path, r.version);
  ASSERT_EQ(l.status, Lookup::Status::found) << r.path << "@" << r.version << ": " << l.message;
  EXPECT_EQ(l.zip_h1, r.zip_h1);
  EXPECT_EQ(l.mod_h1, r.mod_h1);
  EXPECT_EQ(l.record, r.id);
  EXPECT_TRUE(l.message.empty());
}

Lookup::Status status_of(Client& c, const RecordInfo& r) {
  return c.lookup(r.path, r.version).status;
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(SumdbClient, LooksUpEveryRecordAndCachesWhatIsVerified) {
  const Database& main = db("main");
  Harness s(main, {}, 0);
  for (const auto& r : main.records) expect_found(*s.client, r);
  EXPECT_EQ(s.client->latest().n, main.final_size());
  EXPECT_EQ(s.state->load(), main.note(main.final_size()));
  // 12 full level-0 tiles... at most a few fetches per tile: tiles are kept once authenticated.
  EXPECT_LE(s.fetcher.count("tile/"), 16);
  // The full tiles 0/000..0/010, and the partial ones of the final head (0/011.p/184, 1/000.p/11).
  EXPECT_EQ(s.cache.puts.load(), 13);
  EXPECT_EQ(s.cache.partial_puts(), 2);

  // Everything needed is now local: lookups fetch no tile at all.
  s.fetcher.reset_counts();
  for (std::size_t i = 0; i < main.records.size(); i += 7) expect_found(*s.client, main.records[i]);
  EXPECT_EQ(s.fetcher.count("tile/"), 0);
  EXPECT_GT(s.fetcher.count("lookup/"), 0);
}

// Serves what a client kept (its LookupCache and TileCache) and nothing else: a proxy whose
// checksum database is unreachable.
class KeptFetcher final : public Fetcher {
 public:
  KeptFetcher(LookupCache& lookups, TileCache& tiles) : m_lookups(lookups), m_tiles(tiles) {}
  std::optional<std::string> get(const std::string& path) override {
    if (path.rfind("lookup/", 0) == 0) return m_lookups.get(path);
    return m_tiles.get(path);
  }

 private:
  LookupCache& m_lookups;
  TileCache& m_tiles;
};

TEST(SumdbClient, KeepsVerifiedLookupsThatVerifyFromKeptTilesAlone) {
  const Database& main = db("main");
  Harness s(main, {}, 0, true);
  // Answers at several tree sizes: each kept with the head it was authenticated against, the
  // partial tiles of that head kept too.
  std::vector<std::pair<std::int64_t, std::int64_t>> asked;  // record, stage
  for (const auto& [stage, ids] : std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>>{
           {300, {10, 299}}, {1000, {257, 999}}, {main.final_size(), {500, 2999}}}) {
    s.fetcher.set_stage(stage);
    for (const std::int64_t id : ids) {
      expect_found(*s.client, record(main, id));
      asked.emplace_back(id, stage);
    }
  }
  ASSERT_EQ(s.lookups.size(), asked.size());
  for (const auto& [id, stage] : asked) {
    const auto& r = record(main, id);
    EXPECT_EQ(s.lookups.get(r.lookup()), r.formatted_record() + main.note(stage)) << id;
  }
  s.cache.expect_only_tiles_of(main);

  // A fresh client (a go command with an empty cache) reading only what was kept verifies them.
  KeptFetcher offline(s.lookups, s.cache);
  for (const auto& [id, stage] : asked) {
    // Each fresh, as go commands that never saw a head: the first one they see is the kept one.
    ClientOptions o{"sumdb.test", main.vkey, 0};
    auto fresh_tiles = make_memory_tile_cache();
    auto fresh_state = make_memory_tree_state();
    Client go(o, offline, *fresh_tiles, *fresh_state);
    expect_found(go, record(main, id));
  }

  // The keeping client itself answers from them without the database.
  for (const auto& [id, stage] : asked) s.fetcher.fail_path(record(main, id).lookup());
  s.fetcher.reset_counts();
  for (const auto& [id, stage] : asked) expect_found(*s.client, record(main, id));
  EXPECT_EQ(s.fetcher.count(), 0);
}

TEST(SumdbClient, ADamagedKeptLookupIsIgnored) {
  const Database& main = db("main");
  const auto& r = record(main, 777);
  const auto& other = record(main, 778);
  const std::string note = main.note(main.final_size());
  for (const std::string& bad :
       {std::string("garbage"), other.formatted_record() + note,
        r.formatted_record() + db("otherkey").note(1000), r.formatted_record(),
        "3001\n" + r.formatted_record().substr(r.formatted_record().find('\n') + 1) + note}) {
    Harness s(main, {}, 0, true);
    s.lookups.put(r.lookup(), bad);
    expect_found(*s.client, r);
    EXPECT_EQ(s.fetcher.count("lookup/"), 1) << "the database was asked";
  }
}

TEST(SumdbClient, RecordCacheAnswersRepeatedLookups) {
  const Database& main = db("main");
  Harness s(main);
  const auto& r = record(main, 1234);
  expect_found(*s.client, r);
  s.fetcher.reset_counts();
  expect_found(*s.client, r);
  EXPECT_EQ(s.fetcher.count(), 0);
}

TEST(SumdbClient, FollowsTheTreeAsItGrows) {
  const Database& main = db("main");
  Harness s(main, {}, 0);
  std::mt19937 rng(1);
  for (const std::int64_t stage : main.stages) {
    s.fetcher.set_stage(stage);
    expect_found(*s.client, record(main, stage - 1));  // the newest record: partial tiles
    for (int i = 0; i < 3; ++i) expect_found(*s.client, record(main, rng() % stage));
    ASSERT_EQ(s.client->latest().n, stage);
    ASSERT_EQ(s.state->load(), main.note(stage)) << "the newer head is persisted";
  }
}

TEST(SumdbClient, AcceptsOlderConsistentHeadsWithoutGoingBack) {
  const Database& main = db("main");
  Harness s(main);
  expect_found(*s.client, record(main, 2999));
  for (const std::int64_t stage : {1, 257, 513, 2048, 2999}) {
    s.fetcher.set_stage(stage);
    expect_found(*s.client, record(main, stage / 2));
    EXPECT_EQ(s.client->latest().n, 3000);
    EXPECT_EQ(s.state->load(), main.note(3000));
  }
  // The same after a restart, with no tile cached yet: tiles of the latest tree are fetched.
  Harness fresh(main, main.note(3000), 0);
  fresh.fetcher.set_stage(513);
  expect_found(*fresh.client, record(main, 100));
  EXPECT_EQ(fresh.client->latest().n, 3000);
}

TEST(SumdbClient, LooksUpInALargeTree) {
  const Database& big = db("big");
  Harness s(big);
  for (const auto& r : big.records) expect_found(*s.client, r);
  EXPECT_EQ(s.client->latest().n, big.final_size());
}

TEST(SumdbClient, NotFoundAndInvalidRequests) {
  const Database& main = db("main");
  Harness s(main);
  const Lookup nf = s.client->lookup("example.com/nope", "v1.0.0");
  EXPECT_EQ(nf.status, Lookup::Status::not_found);
  EXPECT_TRUE(contains(nf.message, "not found")) << nf.message;
  s.fetcher.set_stage(10);
  EXPECT_EQ(status_of(*s.client, record(main, 10)), Lookup::Status::not_found);
  EXPECT_EQ(s.client->lookup("example.com/../x", "v1.0.0").status, Lookup::Status::error);
  EXPECT_EQ(s.client->lookup("example.com/x", "v1.0.0\n").status, Lookup::Status::error);
  EXPECT_EQ(s.fetcher.count("lookup/"), 2);
  EXPECT_EQ(lookup_path("github.com/User1/Repo", "v1.0.0-RC1"),
            "lookup/github.com/!user1/!repo@v1.0.0-!r!c1");
}

TEST(SumdbClient, RejectsTamperedRecords) {
  const Database& main = db("main");
  const auto& r = record(main, 777);
  const std::string& original = r.body;
  const auto swap = [&](std::string body, const std::string& from, const std::string& to) {
    body.replace(body.find(from), from.size(), to);
    return body;
  };
  struct Case {
    std::string name;
    std::string body;
    std::string_view message;
  };
  const Case cases[] = {
      {"changed hash", swap(original, r.zip_h1.substr(0, 10), "h1:AAAAAAA"),
       "cannot authenticate record data"},
      {"another record's id", swap(original, "777\n", "776\n"), "cannot authenticate record data"},
      {"id beyond the tree", swap(original, "777\n", "3000\n"), "cannot validate record 3000"},
      {"negative id", swap(original, "777\n", "-1\n"), "cannot validate record -1"},
      {"no blank line", original.substr(0, original.find("\n\n")), "malformed lookup response"},
      {"record runs into the note", swap(original, "\n\n", "\n"), "reading tree note"},
      {"empty", "", "malformed lookup response"},
      {"no note", original.substr(0, original.find("go.sum database tree")),
       "reading tree note: malformed note"},
      {"too large", original + std::string(k_max_fetch_bytes, 'x'), "too large"},
  };
  for (const auto& c : cases) {
    Harness s(main, {}, 4096, true);
    s.fetcher.override_path(r.lookup(), c.body);
    const Lookup l = s.client->lookup(r.path, r.version);
    EXPECT_EQ(l.status, Lookup::Status::error) << c.name;
    EXPECT_EQ(s.lookups.size(), 0U) << c.name << ": a tampered answer was kept";
    EXPECT_TRUE(contains(l.message, c.message)) << c.name << ": " << l.message;
    EXPECT_TRUE(contains(l.message, r.path + "@" + r.version)) << l.message;
    // A failed lookup is not cached: the honest answer is accepted next.
    s.fetcher.override_path(r.lookup(), original);
    expect_found(*s.client, r);
  }
}

TEST(SumdbClient, RejectsTamperedTilesAndKeepsNoneOfThem) {
  const Database& main = db("main");
  const auto& r = record(main, 300);  // in tile 0/001, authenticated by 1/000.p/11
  for (const std::string path : {"tile/8/0/001", "tile/8/1/000.p/11", "tile/8/0/011.p/184"}) {
    const std::string good = testing::read_file(main.dir / path);
    std::string flipped = good;
    flipped[100] ^= 0x40;
    for (const auto& [what, body, message] :
         {std::tuple<std::string, std::optional<std::string>, std::string>{
              "flipped", flipped, "downloaded inconsistent tile"},
          {"short", good.substr(32), "bytes, want"},
          {"long", good + good.substr(0, 32), "bytes, want"},
          {"missing", std::nullopt, "not found"}}) {
      Harness s(main, {}, 4096, true);
      s.fetcher.override_path(path, body);
      const Lookup l = s.client->lookup(r.path, r.version);
      EXPECT_EQ(l.status, Lookup::Status::error) << path << " " << what;
      EXPECT_EQ(s.lookups.size(), 0U) << path << " " << what << ": an unproven answer was kept";
      EXPECT_TRUE(contains(l.message, message)) << path << " " << what << ": " << l.message;
      EXPECT_EQ(s.cache.puts.load(), 0) << "nothing kept from a failed authentication";
      s.fetcher.override_path(path, good);
      expect_found(*s.client, r);
    }
  }
}

TEST(SumdbClient, FallsBackToTheFullTileWhenAPartialOneIsGone) {
  const Database& main = db("main");
  Harness s(main, {}, 0);
  s.fetcher.set_stage(300);
  // At size 300: 0/001.p/44 is partial; the server only has the full 0/001 now.
  s.fetcher.override_path("tile/8/0/001.p/44", std::nullopt);
  expect_found(*s.client, record(main, 299));
  EXPECT_EQ(s.fetcher.count("tile/8/0/001"), 2);  // the partial tile, then the full one
  s.fetcher.override_path("tile/8/0/001", std::nullopt);
  Harness t(main, {}, 0);
  t.fetcher.set_stage(300);
  t.fetcher.override_path("tile/8/0/001.p/44", std::nullopt);
  t.fetcher.override_path("tile/8/0/001", std::nullopt);
  const Lookup l = t.client->lookup(record(main, 299).path, record(main, 299).version);
  EXPECT_EQ(l.status, Lookup::Status::error);
  EXPECT_TRUE(contains(l.message, "tile tile/8/0/001.p/44 not found")) << l.message;
}

// Re-encodes the signature in a note's signature line with its first 4 bytes (the key hash) or
// a signature byte changed.
std::string mangle_signature(const std::string& note, bool key_hash) {
  const auto line = note.rfind("\xE2\x80\x94 ");
  const auto b64_at = note.find(' ', line + 4) + 1;
  const auto end = note.find('\n', b64_at);
  auto raw = detail::decode_base64(note.substr(b64_at, end - b64_at));
  if (!raw) throw std::runtime_error("bad note");
  (*raw)[key_hash ? 0 : 10] ^= 0x01;
  return note.substr(0, b64_at) + detail::encode_base64(*raw) + note.substr(end);
}

TEST(SumdbClient, RejectsHeadsNotSignedByTheKey) {
  const Database& main = db("main");
  const auto& r = record(main, 100);
  const std::string record_part = r.formatted_record();
  const std::string note = main.note(3000);
  struct Case {
    std::string name;
    std::string note;
    std::string_view message;
  };
  const Case cases[] = {
      {"bad signature", mangle_signature(note, false), "invalid signature for key sumdb.test+"},
      {"wrong key hash", mangle_signature(note, true), "no verifiable signatures"},
      {"signed by another key of the same name", db("otherkey").note(1000),
       "no verifiable signatures"},
      {"signed by another database", db("othername").note(1000), "no verifiable signatures"},
      {"changed tree size",
       [&] {
         std::string n = note;
         n.replace(n.find("\n3000\n"), 6, "\n3001\n");
         return n;
       }(),
       "invalid signature"},
      {"unsigned", note.substr(0, note.find("\n\n") + 1), "malformed note"},
  };
  for (const auto& c : cases) {
    Harness s(main);
    expect_found(*s.client, record(main, 5));
    s.fetcher.override_path(r.lookup(), record_part + c.note);
    const Lookup l = s.client->lookup(r.path, r.version);
    EXPECT_EQ(l.status, Lookup::Status::error) << c.name;
    EXPECT_TRUE(contains(l.message, c.message)) << c.name << ": " << l.message;
    EXPECT_EQ(s.client->latest().n, 3000) << c.name;
    EXPECT_EQ(s.state->load(), note) << c.name;
  }
  // A whole database signed by another key.
  Harness s(db("otherkey"));
  const auto& o = record(db("otherkey"), 100);
  EXPECT_EQ(status_of(*s.client, o), Lookup::Status::error);
  EXPECT_EQ(s.client->latest().n, 0);
  EXPECT_EQ(s.state->load(), std::nullopt);
}

// Brings a client to main@3000 with every tile it may need local.
void know_main(Harness& s) {
  const Database& main = db("main");
  for (std::int64_t id = 0; id < 3000; id += 256) expect_found(*s.client, record(main, id));
  expect_found(*s.client, record(main, 2999));
  ASSERT_EQ(s.client->latest().n, 3000);
}

// Expects the lookup to throw SecurityError mentioning `what`; returns its evidence.
std::string expect_security_error(Client& c, const RecordInfo& r, std::string_view what) {
  try {
    const Lookup l = c.lookup(r.path, r.version);
    ADD_FAILURE() << "no SecurityError; lookup says " << static_cast<int>(l.status) << " "
                  << l.message;
  } catch (const SecurityError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, "sumdb.test: SECURITY ERROR")) << msg;
    EXPECT_TRUE(contains(msg, what)) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "what() is one line";
    EXPECT_TRUE(contains(e.evidence(), "old database:\n\tgo.sum database tree\n\t"))
        << e.evidence();
    EXPECT_TRUE(contains(e.evidence(), "new database:\n\tgo.sum database tree\n\t"))
        << e.evidence();
    return e.evidence();
  }
  return {};
}

TEST(SumdbClient, DetectsAForkedLog) {
  const Database& main = db("main");
  const Database& fork = db("fork");
  Harness s(main);
  know_main(s);
  const std::string head = main.note(3000);

  // A larger tree that does not extend ours.
  s.fetcher.set_database(fork, 3500);
  const std::string evidence = expect_security_error(*s.client, record(fork, 10),
                                                     "tree#3000 and tree#3500 are inconsistent");
  EXPECT_TRUE(contains(evidence, "proof of misbehavior:\n\t")) << evidence;
  EXPECT_TRUE(contains(evidence, "\n\t3000\n")) << evidence;
  EXPECT_TRUE(contains(evidence, "\n\t3500\n")) << evidence;
  // A tree of the same size with another hash.
  s.fetcher.set_database(fork, 3000);
  expect_security_error(*s.client, record(fork, 10), "same size with different hashes");
  // A smaller tree that is not a prefix of ours (a rollback that rewrote history), proven with
  // the tiles of our tree kept locally.
  s.fetcher.set_database(fork, 1000);
  expect_security_error(*s.client, record(fork, 10), "tree#1000 and tree#3000 are inconsistent");
  s.fetcher.set_database(db("rollback"), 600);
  expect_security_error(*s.client, record(db("rollback"), 10),
                        "tree#600 and tree#3000 are inconsistent");

  // Nothing changed: the head, the stored head, and the cache still serve the real log.
  EXPECT_EQ(s.client->latest().n, 3000);
  EXPECT_EQ(s.state->load(), head);
  s.cache.expect_only_tiles_of(main);
  s.fetcher.set_database(main, 3000);
  for (std::int64_t id = 0; id < 3000; id += 97) expect_found(*s.client, record(main, id));
}

TEST(SumdbClient, DetectsAForkAfterARestart) {
  const Database& main = db("main");
  const Database& fork = db("fork");
  Harness s(fork, main.note(3000));
  s.fetcher.set_stage(3500);
  expect_security_error(*s.client, record(fork, 10), "tree#3000 and tree#3500 are inconsistent");
  EXPECT_EQ(s.state->load(), main.note(3000));
  s.cache.expect_only_tiles_of(main);
  // The fork also diverges below our head, before its own records 500+.
  Harness t(fork, main.note(1000));
  t.fetcher.set_stage(3000);
  expect_security_error(*t.client, record(fork, 10), "tree#1000 and tree#3000 are inconsistent");
}

TEST(SumdbClient, AnUnprovableRollbackIsAnErrorAndChangesNothing) {
  // After a restart nothing is local: the rolled-back server cannot serve the tiles of our
  // tree, so there is no proof either way. The lookup fails; the head stays.
  const Database& main = db("main");
  const Database& rollback = db("rollback");
  Harness s(rollback, main.note(3000));
  const Lookup l = s.client->lookup(record(rollback, 10).path, record(rollback, 10).version);
  EXPECT_EQ(l.status, Lookup::Status::error);
  EXPECT_TRUE(contains(l.message, "checking tree#600 against tree#3000")) << l.message;
  EXPECT_EQ(s.client->latest().n, 3000);
  EXPECT_EQ(s.state->load(), main.note(3000));
  // Records the fork shares with the log are not vouched for by a rolled-back head either.
  EXPECT_EQ(status_of(*s.client, record(rollback, 5)), Lookup::Status::error);
}

TEST(SumdbClient, RecoversFromADamagedTileCache) {
  const Database& main = db("main");
  Harness s(main);
  std::string bad = testing::read_file(main.dir / "tile/8/0/000");
  bad[0] ^= 1;
  s.cache.put("tile/8/0/000", bad);
  s.cache.puts = 0;
  expect_found(*s.client, record(main, 5));
  EXPECT_EQ(s.cache.get("tile/8/0/000"), testing::read_file(main.dir / "tile/8/0/000"));
}

TEST(SumdbClient, TransportFailuresPropagate) {
  const Database& main = db("main");
  Harness s(main);
  const auto& r = record(main, 42);
  s.fetcher.fail_path(r.lookup());
  EXPECT_THROW(s.client->lookup(r.path, r.version), std::runtime_error);
  const auto& r2 = record(main, 43);
  s.fetcher.fail_path("tile/8/0/000");
  EXPECT_THROW(s.client->lookup(r2.path, r2.version), std::runtime_error);
}

TEST(SumdbClient, PersistsTheHeadInAFile) {
  const Database& main = db("main");
  const fsio::testing::ScratchDir dir;
  const auto file = dir / "sumdb.test-latest";
  {
    DirFetcher fetcher(main);
    fetcher.set_stage(1000);
    auto cache = make_memory_tile_cache();
    auto state = make_file_tree_state(file);
    Client c(ClientOptions{"sumdb.test", main.vkey, 16}, fetcher, *cache, *state);
    expect_found(c, record(main, 999));
  }
  EXPECT_EQ(testing::read_file(file), main.note(1000));
  DirFetcher fetcher(main);
  auto cache = make_memory_tile_cache();
  auto state = make_file_tree_state(file);
  Client c(ClientOptions{"sumdb.test", main.vkey, 16}, fetcher, *cache, *state);
  EXPECT_EQ(c.latest().n, 1000);
  EXPECT_EQ(fetcher.count(), 0);
  expect_found(c, record(main, 2000));
  EXPECT_EQ(testing::read_file(file), main.note(3000));
}

TEST(SumdbClient, ConstructionChecksKeyAndStoredHead) {
  const Database& main = db("main");
  DirFetcher fetcher(main);
  auto cache = make_memory_tile_cache();
  auto none = make_memory_tree_state();
  EXPECT_THROW(Client(ClientOptions{"sumdb.test", "garbage", 1}, fetcher, *cache, *none),
               std::invalid_argument);
  EXPECT_THROW(Client(ClientOptions{"sum.example.org", main.vkey, 1}, fetcher, *cache, *none),
               std::invalid_argument);
  Client unnamed(ClientOptions{"", main.vkey, 1}, fetcher, *cache, *none);
  EXPECT_EQ(unnamed.name(), "sumdb.test");
  for (const std::string& bad : {std::string("garbage"), db("otherkey").note(1000),
                                 mangle_signature(main.note(3000), false)}) {
    auto state = make_memory_tree_state(bad);
    EXPECT_THROW(Client(ClientOptions{"sumdb.test", main.vkey, 1}, fetcher, *cache, *state),
                 std::runtime_error);
  }
  auto empty = make_memory_tree_state("");
  Client c(ClientOptions{"sumdb.test", main.vkey, 1}, fetcher, *cache, *empty);
  EXPECT_EQ(c.latest().n, 0);
  EXPECT_EQ(c.latest().hash, empty_tree_hash());
}

TEST(SumdbClient, VerifiesDownloadedHashes) {
  const Database& main = db("main");
  Harness s(main);
  const auto& r = record(main, 321);
  EXPECT_EQ(s.client->verify(r.path, r.version, Artifact::zip, r.zip_h1).status,
            Verdict::Status::match);
  EXPECT_EQ(s.client->verify(r.path, r.version, Artifact::mod, r.mod_h1).status,
            Verdict::Status::match);
  const Verdict bad = s.client->verify(r.path, r.version, Artifact::zip, r.mod_h1);
  EXPECT_EQ(bad.status, Verdict::Status::mismatch);
  EXPECT_EQ(bad.expected, r.zip_h1);
  EXPECT_TRUE(contains(bad.message, "checksum mismatch")) << bad.message;
  EXPECT_TRUE(contains(bad.message, r.mod_h1)) << bad.message;
  EXPECT_EQ(s.client->verify(r.path, r.version, Artifact::mod, r.zip_h1).status,
            Verdict::Status::mismatch);
  EXPECT_EQ(s.client->verify("example.com/nope", "v1.0.0", Artifact::zip, r.zip_h1).status,
            Verdict::Status::not_found);
  EXPECT_EQ(s.client->verify(r.path, r.version, Artifact::zip, "h1:short").status,
            Verdict::Status::error);
  s.fetcher.override_path("tile/8/0/002", std::nullopt);
  const auto& r2 = record(main, 600);
  EXPECT_EQ(s.client->verify(r2.path, r2.version, Artifact::zip, r2.zip_h1).status,
            Verdict::Status::error);
}

TEST(SumdbClient, ConcurrentLookupsWhileTheTreeGrows) {
  const Database& main = db("main");
  Harness s(main, {}, 0);
  std::vector<std::int64_t> stages;
  for (const auto st : main.stages) {
    if (st >= 300) stages.push_back(st);
  }
  s.fetcher.set_stage(stages.front());
  std::atomic<int> done{0};
  std::atomic<int> failures{0};
  std::atomic<std::size_t> next_stage{1};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(static_cast<unsigned>(w));
      for (int i = 0; i < 60; ++i) {
        const auto& r = record(main, rng() % 300);
        try {
          const Lookup l = s.client->lookup(r.path, r.version);
          if (l.status != Lookup::Status::found || l.zip_h1 != r.zip_h1) ++failures;
        } catch (...) {
          ++failures;
        }
        // Every 25 lookups overall, the database publishes a new head.
        if (++done % 25 == 0) {
          const std::size_t k = next_stage++;
          if (k < stages.size()) s.fetcher.set_stage(stages[k]);
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  s.fetcher.set_stage(main.final_size());
  expect_found(*s.client, record(main, 2999));
  EXPECT_EQ(s.client->latest().n, main.final_size());
  EXPECT_EQ(s.state->load(), main.note(main.final_size()));
}

// The forgeries sumdbgen makes with x/mod's own server (tests/oracle/sumdbgen, genForged).

constexpr std::string_view k_forged_zip_h1 = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr std::string_view k_forged_mod_h1 = "h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";

const RecordInfo& record_of(const Database& d, std::string_view path) {
  for (const auto& r : d.records) {
    if (r.path == path) return r;
  }
  throw std::runtime_error("no lookup for " + std::string(path));
}

// A lookup x/mod's server answered with another record (forged/misdirected.tsv).
struct Misdirected {
  std::string kind;
  RecordInfo asked;  // path, version and lookup path asked for; body: the answer
  std::int64_t served_id = 0;
};

std::vector<Misdirected> misdirected(const Database& d) {
  std::vector<Misdirected> out;
  std::istringstream in(testing::read_file(d.dir / "misdirected.tsv"));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t at; (at = line.find('\t', start)) != std::string::npos; start = at + 1) {
      f.push_back(line.substr(start, at - start));
    }
    f.push_back(line.substr(start));
    auto body = detail::decode_base64(f.at(6));
    if (!body) throw std::runtime_error("bad misdirected.tsv line: " + line);
    Misdirected m;
    m.kind = f.at(0);
    m.asked = {-1, f.at(1), f.at(2), f.at(3), f.at(4), {}, {}, *body};
    m.served_id = std::stoll(f.at(5));
    out.push_back(std::move(m));
  }
  return out;
}

// CVE-2026-56865: every tile is checked against the signed head or its authenticated parent.
// The forged tiles are x/mod's own tiles of a twin log whose record 290 differs: each is
// internally well-formed, none is signed by the heads served.
TEST(SumdbForged, TilesOfAnotherLogAreRejectedAndNeverKept) {
  const Database& forged = db("forged");
  const Database& twin = db("forged-twin");
  struct Case {
    std::string name;
    std::int64_t stage;
    std::string path;                  // replaced by the twin's tile (nullopt: 404)
    std::optional<std::string> other;  // a second path made to 404, if any
  };
  const Case cases[] = {
      {"full level-0 tile", 700, "tile/8/0/001", {}},
      {"partial level-1 tile (the head's own)", 700, "tile/8/1/000.p/2", {}},
      {"partial level-0 tile", 300, "tile/8/0/001.p/44", {}},
      // The server has no partial tile any more, and its full tile disagrees with the head.
      {"full tile standing in for a partial one", 300, "tile/8/0/001", "tile/8/0/001.p/44"},
  };
  const auto& r = record(forged, 290);  // in tile 0/001
  for (const auto& c : cases) {
    Harness s(forged, {}, 4096, true);
    s.fetcher.set_stage(c.stage);
    const std::string twin_tile = testing::read_file(twin.dir / c.path);
    ASSERT_NE(twin_tile, testing::read_file(forged.dir / c.path)) << c.name;
    s.fetcher.override_path(c.path, twin_tile);
    if (c.other) s.fetcher.override_path(*c.other, std::nullopt);
    const Lookup l = s.client->lookup(r.path, r.version);
    EXPECT_EQ(l.status, Lookup::Status::error) << c.name;
    EXPECT_TRUE(contains(l.message, "downloaded inconsistent tile")) << c.name << ": " << l.message;
    EXPECT_EQ(s.cache.puts.load(), 0) << c.name << ": nothing kept from a failed authentication";
    EXPECT_EQ(s.lookups.size(), 0U) << c.name << ": a lookup proven by a forged tile was kept";
    s.cache.expect_only_tiles_of(forged);
    // The honest tile is accepted next: nothing of the forgery was remembered.
    s.fetcher.override_path(c.path, testing::read_file(forged.dir / c.path));
    if (c.other) s.fetcher.override_path(*c.other, testing::read_file(forged.dir / *c.other));
    expect_found(*s.client, r);
    s.cache.expect_only_tiles_of(forged);
  }
}

TEST(SumdbForged, DataTilesNeverReachADecision) {
  // Lookups are authenticated from hash tiles only: a forged data tile is never even read.
  const Database& forged = db("forged");
  const Database& twin = db("forged-twin");
  Harness s(forged);
  s.fetcher.override_path("tile/8/data/001", testing::read_file(twin.dir / "tile/8/data/001"));
  expect_found(*s.client, record(forged, 290));
  EXPECT_EQ(s.fetcher.count("tile/8/data/"), 0);
}

// CVE-2026-56864: a lookup's record may list other modules' hashes; only the requested module's
// lines are used, and the others reach no answer, cache or verdict.
TEST(SumdbForged, OtherModulesHashesInARecordAreIgnored) {
  const Database& forged = db("forged");
  const auto& victim = record_of(forged, "victim.example/a");
  const auto& bystander = record_of(forged, "bystander.example/b");
  ASSERT_TRUE(contains(victim.body,
                       std::string("bystander.example/b v1.0.0 ") + std::string(k_forged_zip_h1)));
  {
    Harness s(forged);
    expect_found(*s.client, victim);
    // The bystander is looked up on its own, and its own record decides.
    const Verdict zip =
        s.client->verify(bystander.path, bystander.version, Artifact::zip, k_forged_zip_h1);
    EXPECT_EQ(zip.status, Verdict::Status::mismatch);
    EXPECT_EQ(zip.expected, bystander.zip_h1);
    const Verdict mod =
        s.client->verify(bystander.path, bystander.version, Artifact::mod, k_forged_mod_h1);
    EXPECT_EQ(mod.status, Verdict::Status::mismatch);
    EXPECT_EQ(mod.expected, bystander.mod_h1);
    EXPECT_EQ(s.fetcher.count(bystander.lookup()), 1);
    EXPECT_EQ(
        s.client->verify(bystander.path, bystander.version, Artifact::zip, bystander.zip_h1).status,
        Verdict::Status::match);
  }
  {
    // The database does not know the bystander: its hashes seen in another record do not make
    // it known, let alone matching.
    Harness s(forged);
    expect_found(*s.client, victim);
    s.fetcher.override_path(bystander.lookup(), std::nullopt);
    EXPECT_EQ(
        s.client->verify(bystander.path, bystander.version, Artifact::zip, k_forged_zip_h1).status,
        Verdict::Status::not_found);
    EXPECT_EQ(s.client->lookup(bystander.path, bystander.version).status,
              Lookup::Status::not_found);
  }
  {
    // Unauthenticated extra lines (added to the record text on the way) fail the record.
    Harness s(forged);
    std::string body = victim.body;
    const std::string extra = "bystander.example/b v1.0.0 " + std::string(k_forged_zip_h1) + "\n";
    body.insert(body.find('\n') + 1, extra);
    s.fetcher.override_path(victim.lookup(), body);
    const Lookup l = s.client->lookup(victim.path, victim.version);
    EXPECT_EQ(l.status, Lookup::Status::error);
    EXPECT_TRUE(contains(l.message, "cannot authenticate record data")) << l.message;
    EXPECT_EQ(
        s.client->verify(bystander.path, bystander.version, Artifact::zip, k_forged_zip_h1).status,
        Verdict::Status::mismatch);
  }
}

// CVE-2026-42501: a lookup answered with an authenticated record that lacks the requested module
// version (another module's, another version's, another case's, or one without both h1: lines)
// is a security error: neither "not found" nor a match, and nothing of it is remembered.
TEST(SumdbForged, ALookupAnsweredWithAnotherRecordIsASecurityError) {
  const Database& forged = db("forged");
  const auto answers = misdirected(forged);
  ASSERT_EQ(answers.size(), 4U);
  for (const auto& m : answers) {
    const RecordInfo& served = record(forged, m.served_id);
    for (const auto artifact : {Artifact::zip, Artifact::mod}) {
      Harness s(forged, {}, 4096, true);
      s.fetcher.override_path(m.asked.lookup(), m.asked.body);
      const std::string hash = artifact == Artifact::zip ? served.zip_h1 : served.mod_h1;
      try {
        const Verdict v = s.client->verify(m.asked.path, m.asked.version, artifact,
                                           hash.empty() ? std::string(k_forged_zip_h1) : hash);
        ADD_FAILURE() << m.kind << ": no SecurityError; verdict " << static_cast<int>(v.status)
                      << " " << v.message;
      } catch (const SecurityError& e) {
        const std::string what = e.what();
        EXPECT_TRUE(contains(what, "sumdb.test: SECURITY ERROR")) << what;
        EXPECT_TRUE(contains(what, m.asked.path + "@" + m.asked.version)) << what;
        EXPECT_TRUE(contains(what, "record " + std::to_string(m.served_id))) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << "what() is one line";
        const std::string text = served.formatted_record();
        const auto first = text.find('\n') + 1;
        EXPECT_TRUE(contains(e.evidence(), text.substr(first, text.find('\n', first) - first)))
            << e.evidence();
      }
      EXPECT_EQ(s.lookups.size(), 0U) << m.kind << ": another record's answer was kept";
      // Not remembered: the next answer is looked up again.
      s.fetcher.override_path(m.asked.lookup(), std::nullopt);
      EXPECT_EQ(s.client->lookup(m.asked.path, m.asked.version).status, Lookup::Status::not_found)
          << m.kind;
    }
  }
  // The same with the main database's honest answer for record 778 served for record 777.
  const Database& main = db("main");
  Harness s(main);
  s.fetcher.override_path(record(main, 777).lookup(), record(main, 778).body);
  EXPECT_THROW(s.client->lookup(record(main, 777).path, record(main, 777).version), SecurityError);
  s.fetcher.override_path(record(main, 777).lookup(), record(main, 777).body);
  expect_found(*s.client, record(main, 777));
}

}  // namespace
}  // namespace stoa::sumdb
