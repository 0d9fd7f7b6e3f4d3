#include "stoa/sumdb/client.hpp"

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "stoa/module/path.hpp"
#include "stoa/sumdb/gosum.hpp"
#include "stoa/sumdb/note.hpp"
#include "stoa/sumdb/tile.hpp"

namespace stoa::sumdb {
namespace {

constexpr std::size_t k_full_tile_bytes = std::size_t{k_full_tile_width} * k_hash_size;
// Partial tiles kept in memory: those of the latest tree head (about one per level).
constexpr std::size_t k_max_partial_tiles = 64;

std::string indent(std::string_view text) {
  std::string out;
  for (const char c : text) {
    out += c;
    if (c == '\n') out += '\t';
  }
  return out;
}

// Where tiles come from: the TileCache and the in-memory partial tiles ("local": only ever
// filled with authenticated tiles of this database's timeline), or the server.
class TileStore {
 public:
  TileStore(Fetcher& fetcher, TileCache& cache) : m_fetcher(fetcher), m_cache(cache) {}

  std::optional<std::string> local(const Tile& t) {
    if (!is_full(t)) {
      {
        const std::lock_guard lock(m_mu);
        if (const auto it = m_partial.find(t); it != m_partial.end()) return it->second;
      }
      auto kept = m_cache.get(tile_path(t));
      if (kept && kept->size() == static_cast<std::size_t>(t.w) * k_hash_size) return kept;
      // A prefix of the full tile is the partial tile.
      Tile full = t;
      full.w = k_full_tile_width;
      auto data = m_cache.get(tile_path(full));
      if (data && data->size() == k_full_tile_bytes) {
        data->resize(static_cast<std::size_t>(t.w) * k_hash_size);
        return data;
      }
      return std::nullopt;
    }
    auto data = m_cache.get(tile_path(t));
    if (data && data->size() == k_full_tile_bytes) return data;
    return std::nullopt;
  }

  // The tile from the server; for a partial tile the server no longer has, the prefix of the full
  // tile (the go command does the same).
  Result<std::string> remote(const Tile& t) {
    const std::string path = tile_path(t);
    const std::size_t want = static_cast<std::size_t>(t.w) * k_hash_size;
    if (auto data = m_fetcher.get(path)) {
      if (data->size() != want) {
        return Failure{"tile " + path + " has " + std::to_string(data->size()) + " bytes, want " +
                       std::to_string(want)};
      }
      return std::move(*data);
    }
    if (!is_full(t)) {
      Tile full = t;
      full.w = k_full_tile_width;
      if (auto data = m_fetcher.get(tile_path(full))) {
        if (data->size() != k_full_tile_bytes) {
          return Failure{"tile " + tile_path(full) + " has " + std::to_string(data->size()) +
                         " bytes, want " + std::to_string(k_full_tile_bytes)};
        }
        data->resize(want);
        return std::move(*data);
      }
    }
    return Failure{"tile " + path + " not found"};
  }

  // Keeps an authenticated tile: full ones in the cache, partial ones when they are tiles of
  // the tree of `size` records (the head they were authenticated against) in the cache and in
  // memory (the go command verifying a lookup answer against that head asks for them).
  void keep(const Tile& t, const std::string& data, std::int64_t size) {
    if (is_full(t)) {
      m_cache.put(tile_path(t), data);
      return;
    }
    if (tile_parent(t, 0, size) != t) return;
    {
      const std::lock_guard lock(m_mu);
      if (m_partial.size() >= k_max_partial_tiles) m_partial.clear();
      m_partial.insert_or_assign(t, data);
    }
    m_cache.put(tile_path(t), data);
  }

  // Drops the partial tiles that are not tiles of a tree of `size` records.
  void prune(std::int64_t size) {
    const std::lock_guard lock(m_mu);
    std::erase_if(m_partial, [&](const auto& entry) {
      return tile_parent(entry.first, 0, size) != entry.first;
    });
  }

 private:
  Fetcher& m_fetcher;
  TileCache& m_cache;
  std::mutex m_mu;
  std::map<Tile, std::string> m_partial;  // guarded by m_mu
};

// The TileReader of one verification: reads through the TileStore (local first, unless told
// otherwise) and remembers the tiles TileHashReader authenticated, to keep them only once the
// tree they were authenticated against is known to be on this client's timeline (commit).
class OperationTiles final : public TileReader {
 public:
  OperationTiles(TileStore& store, bool use_local) : m_store(store), m_use_local(use_local) {}

  int height() const override { return k_tile_height; }

  Result<std::vector<std::string>> read_tiles(std::span<const Tile> tiles) override {
    std::vector<std::string> data;
    data.reserve(tiles.size());
    for (const Tile& t : tiles) {
      if (m_use_local) {
        if (auto d = m_store.local(t)) {
          m_local.insert(t);
          data.push_back(std::move(*d));
          continue;
        }
      }
      auto d = m_store.remote(t);
      if (!d) return d.failure();
      data.push_back(std::move(*d));
    }
    return data;
  }

  void save_tiles(std::span<const Tile> tiles, std::span<const std::string> data) override {
    for (std::size_t i = 0; i < tiles.size() && i < data.size(); ++i) {
      if (!m_local.contains(tiles[i])) m_saved.emplace_back(tiles[i], data[i]);
    }
  }

  bool used_local() const { return !m_local.empty(); }

  void commit(std::int64_t head_size) {
    for (const auto& [t, d] : m_saved) m_store.keep(t, d, head_size);
    m_saved.clear();
  }

 private:
  TileStore& m_store;
  bool m_use_local;
  std::set<Tile> m_local;
  std::vector<std::pair<Tile, std::string>> m_saved;
};

// A TileHashReader over the tiles of one verification.
struct Authenticated {
  Authenticated(TileStore& store, const Tree& tree, bool use_local)
      : tiles(store, use_local), reader(tree, tiles) {}
  OperationTiles tiles;
  TileHashReader reader;
};

// Runs `f` on a reader for `tree` that prefers local tiles; if that fails after using local tiles
// (a fork being checked against our tiles, or a damaged cache), runs it again on server tiles only.
template <class F>
auto authenticated(TileStore& store, const Tree& tree, std::optional<Authenticated>& a, F f) {
  a.emplace(store, tree, true);
  auto r = f(a->reader);
  if (!r && a->tiles.used_local()) {
    a.emplace(store, tree, false);
    r = f(a->reader);
  }
  return r;
}

struct Head {
  Tree tree;
  std::string note;  // empty for the empty tree nobody signed
  std::uint64_t generation = 0;
};

Lookup lookup_error(std::string message) {
  Lookup l;
  l.status = Lookup::Status::error;
  l.message = std::move(message);
  return l;
}

}  // namespace

std::optional<std::string> lookup_path(std::string_view module_path, std::string_view version) {
  const auto ep = module::escape_path(module_path);
  const auto ev = module::escape_version(version);
  if (!ep || !ev) return std::nullopt;
  return "lookup/" + *ep + "@" + *ev;
}

struct Client::Impl {
  Impl(const ClientOptions& options, Fetcher& f, TileCache& c, TreeState& s, LookupCache* l)
      : fetcher(f),
        state(s),
        lookups(l),
        tiles(f, c),
        record_cache_max(options.record_cache_entries) {
    std::string why;
    auto v = parse_verifier_key(options.verifier_key, &why);
    if (!v) throw std::invalid_argument("invalid checksum database key: " + why);
    if (!options.name.empty() && options.name != v->name()) {
      throw std::invalid_argument("checksum database key is for " + module::excerpt(v->name()) +
                                  ", not " + module::excerpt(options.name));
    }
    verifier = std::move(*v);
    head.tree = Tree{0, empty_tree_hash()};
    if (auto stored = state.load(); stored && !stored->empty()) {
      auto t = open_tree(*stored);
      if (!t) {
        throw std::runtime_error("stored tree head of checksum database " + verifier.name() +
                                 " is unusable: " + t.error());
      }
      head.tree = *t;
      head.note = std::move(*stored);
    }
  }

  Head snapshot() const {
    const std::lock_guard lock(head_mu);
    return head;
  }

  // The tree of a signed tree note, verified with the database key.
  Result<Tree> open_tree(std::string_view note) const {
    auto opened = open_note(note, verifier);
    if (opened.status != NoteStatus::ok) return Failure{"reading tree note: " + opened.message};
    auto tree = parse_tree(opened.note.text);
    if (!tree) return Failure{"reading tree note: malformed tree note"};
    if (tree->n > k_max_tree_size) return Failure{"reading tree note: tree too large"};
    return *tree;
  }

  [[noreturn]] void misbehavior(const Tree& older, std::string_view older_note, const Tree& newer,
                                std::string_view newer_note, const std::string& why,
                                const std::string& proof) const {
    std::string what = verifier.name() + ": SECURITY ERROR: checksum database misbehavior " +
                       "detected: tree#" + std::to_string(older.n) + " and tree#" +
                       std::to_string(newer.n) + " " + why;
    std::string evidence = "SECURITY ERROR\n" + verifier.name() +
                           " checksum database misbehavior detected!\n\nold database:\n\t" +
                           indent(older_note.empty() ? format_tree(older) : older_note) +
                           "\nnew database:\n\t" +
                           indent(newer_note.empty() ? format_tree(newer) : newer_note) + "\n";
    if (!proof.empty()) evidence += "proof of misbehavior:" + proof + "\n";
    throw SecurityError(what, std::move(evidence));
  }

  // Proves that `older` is a prefix of `newer` from tiles authenticated against `newer`. A
  // Failure when the tiles cannot be had or do not authenticate; SecurityError when they do and
  // the prefix has another hash. Keeps the tiles on success (`newer` is then on our timeline).
  Result<bool> check_trees(const Tree& older, std::string_view older_note, const Tree& newer,
                           std::string_view newer_note) {
    std::optional<Authenticated> a;
    auto h =
        authenticated(tiles, newer, a, [&](TileHashReader& r) { return tree_hash(older.n, r); });
    if (!h) {
      return Failure{"checking tree#" + std::to_string(older.n) + " against tree#" +
                     std::to_string(newer.n) + ": " + h.error()};
    }
    if (*h == older.hash) {
      a->tiles.commit(newer.n);
      return true;
    }
    // The hashes that prove it: the older tree's hash according to the newer tree, and the
    // consistency proof that binds it to the newer tree's signed hash.
    std::string proof = "\n\t" + to_base64(*h);
    if (auto p = prove_tree(newer.n, older.n, a->reader);
        p && check_tree(*p, newer.n, newer.hash, older.n, *h)) {
      for (const Hash& x : *p) proof += "\n\t" + to_base64(x);
    }
    misbehavior(older, older_note, newer, newer_note,
                "are inconsistent: the larger tree does not contain the smaller one", proof);
  }

  // Merges a signed tree note into the latest head (x/mod's mergeLatest): an older head must be
  // a prefix of the latest, a newer one must extend it and replaces it (persisted).
  Result<Tree> merge(std::string_view note) {
    auto tree = open_tree(note);
    if (!tree) return tree.failure();
    for (;;) {
      const Head latest = snapshot();
      if (tree->n == latest.tree.n) {
        if (tree->hash == latest.tree.hash) return *tree;
        misbehavior(latest.tree, latest.note, *tree, note,
                    "are signed tree heads of the same size with different hashes", {});
      }
      if (tree->n < latest.tree.n) {
        auto checked = check_trees(*tree, note, latest.tree, latest.note);
        if (!checked) return checked.failure();
        return *tree;
      }
      auto checked = check_trees(latest.tree, latest.note, *tree, note);
      if (!checked) return checked.failure();
      bool installed = false;
      {
        const std::lock_guard lock(head_mu);
        if (head.generation == latest.generation) {
          head = Head{*tree, std::string(note), latest.generation + 1};
          installed = true;
        }
      }
      if (installed) {
        tiles.prune(tree->n);
        persist();
        return *tree;
      }
      // Another thread moved the head meanwhile: check against the new one.
    }
  }

  // Stores the latest head if it is newer than the last one stored.
  void persist() {
    const std::lock_guard lock(persist_mu);
    const Head latest = snapshot();
    if (latest.generation > persisted_generation) {
      state.store(latest.note);
      persisted_generation = latest.generation;
    }
  }

  // Authenticates record `id`'s text against the latest head; the signed note of that head.
  Result<std::string> check_record(std::int64_t id, std::string_view text) {
    const Head latest = snapshot();
    if (id < 0 || id >= latest.tree.n) {
      return Failure{"cannot validate record " + std::to_string(id) + " in tree of size " +
                     std::to_string(latest.tree.n)};
    }
    const std::int64_t index = stored_hash_index(0, id);
    std::optional<Authenticated> a;
    auto hashes = authenticated(tiles, latest.tree, a, [&](TileHashReader& r) {
      return r.read_hashes(std::span<const std::int64_t>(&index, 1));
    });
    if (!hashes) {
      return Failure{"authenticating record " + std::to_string(id) + ": " + hashes.error()};
    }
    a->tiles.commit(latest.tree.n);
    if ((*hashes)[0] != record_hash(text)) {
      return Failure{"cannot authenticate record data in server response"};
    }
    return latest.note;
  }

  std::optional<Lookup> cached(const std::string& key) {
    const std::lock_guard lock(records_mu);
    const auto it = records.find(key);
    if (it == records.end()) return std::nullopt;
    return it->second;
  }

  void remember(const std::string& key, const Lookup& found) {
    if (record_cache_max == 0) return;
    const std::lock_guard lock(records_mu);
    if (!records.emplace(key, found).second) return;
    record_order.push_back(key);
    if (record_order.size() > record_cache_max) {
      records.erase(record_order.front());
      record_order.pop_front();
    }
  }

  // Fills found.zip_h1/mod_h1 from the lines of `text` about exactly module_path@version; an
  // error message when it lists two different hashes for one of them.
  static std::optional<std::string> extract(Lookup& found, std::string_view text,
                                            std::string_view module_path,
                                            std::string_view version) {
    while (!text.empty()) {
      const auto nl = text.find('\n');
      const auto line = parse_go_sum_line(text.substr(0, nl));
      text.remove_prefix(nl + 1);  // record text ends in '\n'
      if (!line || line->module_path != module_path || line->version != version ||
          line->hash.substr(0, 3) != "h1:") {
        continue;
      }
      std::string& slot = line->go_mod ? found.mod_h1 : found.zip_h1;
      if (!slot.empty() && slot != line->hash) {
        return "record " + std::to_string(found.record) + " lists two different h1: hashes";
      }
      slot = std::string(line->hash);
    }
    return std::nullopt;
  }

  // A verified answer kept in the LookupCache: its note must still be a tree head signed by the
  // database's key that holds the record, and its record must list both hashes. Anything else
  // (a damaged store) is ignored: the database is asked.
  std::optional<Lookup> kept(const std::string& path, std::string_view module_path,
                             std::string_view version) {
    if (lookups == nullptr) return std::nullopt;
    const auto answer = lookups->get(path);
    if (!answer) return std::nullopt;
    const auto record = parse_record(*answer);
    if (!record) return std::nullopt;
    const auto tree = open_tree(record->rest);
    if (!tree || record->id < 0 || record->id >= tree->n) return std::nullopt;
    Lookup found;
    found.status = Lookup::Status::found;
    found.record = record->id;
    if (extract(found, record->text, module_path, version)) return std::nullopt;
    if (found.zip_h1.empty() || found.mod_h1.empty()) return std::nullopt;
    return found;
  }

  Lookup lookup(std::string_view module_path, std::string_view version) {
    const auto path = lookup_path(module_path, version);
    if (!path) {
      return lookup_error("invalid module version \"" + module::excerpt(module_path) + "@" +
                          module::excerpt(version) + "\"");
    }
    const std::string key = std::string(module_path) + "@" + std::string(version);
    if (auto hit = cached(key)) return std::move(*hit);
    if (auto hit = kept(*path, module_path, version)) {
      remember(key, *hit);
      return std::move(*hit);
    }

    const std::string where = key + ": " + verifier.name() + ": ";
    auto body = fetcher.get(*path);
    if (!body) {
      Lookup l;
      l.status = Lookup::Status::not_found;
      l.message = where + "not found";
      return l;
    }
    if (body->size() > k_max_fetch_bytes) return lookup_error(where + "lookup response too large");
    const auto record = parse_record(*body);
    if (!record) return lookup_error(where + "malformed lookup response");
    if (auto merged = merge(record->rest); !merged) return lookup_error(where + merged.error());
    const auto head_note = check_record(record->id, record->text);
    if (!head_note) return lookup_error(where + head_note.error());

    Lookup found;
    found.status = Lookup::Status::found;
    found.record = record->id;
    if (auto bad = extract(found, record->text, module_path, version)) {
      return lookup_error(where + *bad);
    }
    if (found.zip_h1.empty() || found.mod_h1.empty()) {
      // An authenticated record that is not the one asked for: another module's or version's
      // record replayed (by the database or by a proxy in between), or a record the database
      // signed without the hashes. The go command calls this a security error ("checksum missing
      // from sumdb response"): neither "not found" nor a match, whatever hash it does list.
      throw SecurityError(
          verifier.name() + ": SECURITY ERROR: lookup of " + module::excerpt(key) +
              " answered with record " + std::to_string(record->id) +
              ", which has no h1: hash for " +
              (found.zip_h1.empty() ? "its module zip" : "its go.mod file") +
              " (checksum missing from the checksum database response)",
          "SECURITY ERROR\n" + verifier.name() + " answered a lookup of " + module::excerpt(key) +
              " with an authenticated record that does not list it:\n\t" + indent(*body) + "\n");
    }
    if (lookups != nullptr) {
      // The answer as the database would give it with the head the record was authenticated
      // against (usually the very bytes received): the tiles that proved it are kept.
      if (auto answer = format_record(record->id, record->text)) {
        lookups->put(*path, *answer + *head_note);
      }
    }
    remember(key, found);
    return found;
  }

  Fetcher& fetcher;
  TreeState& state;
  LookupCache* lookups;  // may be null
  TileStore tiles;
  Verifier verifier;
  std::size_t record_cache_max;

  mutable std::mutex head_mu;
  Head head;  // guarded by head_mu

  std::mutex persist_mu;
  std::uint64_t persisted_generation = 0;  // guarded by persist_mu

  std::mutex records_mu;
  std::unordered_map<std::string, Lookup> records;  // guarded by records_mu
  std::deque<std::string> record_order;             // guarded by records_mu; oldest first
};

Client::Client(const ClientOptions& options, Fetcher& fetcher, TileCache& tiles, TreeState& state,
               LookupCache* lookups)
    : m_impl(std::make_unique<Impl>(options, fetcher, tiles, state, lookups)) {}

Client::~Client() = default;

const std::string& Client::name() const { return m_impl->verifier.name(); }

Lookup Client::lookup(std::string_view module_path, std::string_view version) {
  return m_impl->lookup(module_path, version);
}

Verdict Client::verify(std::string_view module_path, std::string_view version, Artifact artifact,
                       std::string_view h1) {
  Verdict v;
  const std::string what = std::string(module_path) + "@" + std::string(version) +
                           (artifact == Artifact::mod ? "/go.mod" : "");
  if (!is_h1(h1)) {
    v.status = Verdict::Status::error;
    v.message = module::excerpt(what) + ": not an h1: hash: \"" + module::excerpt(h1) + "\"";
    return v;
  }
  const Lookup l = lookup(module_path, version);
  switch (l.status) {
    case Lookup::Status::not_found:
      v.status = Verdict::Status::not_found;
      v.message = l.message;
      return v;
    case Lookup::Status::error:
      v.status = Verdict::Status::error;
      v.message = l.message;
      return v;
    case Lookup::Status::found:
      break;
  }
  v.expected = artifact == Artifact::mod ? l.mod_h1 : l.zip_h1;
  if (h1_equal(h1, v.expected)) {
    v.status = Verdict::Status::match;
    return v;
  }
  v.status = Verdict::Status::mismatch;
  v.message = what + ": checksum mismatch: downloaded " + std::string(h1) + ", " + name() +
              " has " + module::excerpt(v.expected);
  return v;
}

Tree Client::latest() const { return m_impl->snapshot().tree; }

std::string Client::latest_note() const { return m_impl->snapshot().note; }

}  // namespace stoa::sumdb
