#pragma once
// A checksum database client (the go command's sumdb.Client, golang.org/x/mod/sumdb): looks up
// the go.sum hashes of module versions, verifying each answer against the database's signed tree
// heads, and keeps the latest verified tree head so that the database can never show two
// different histories (a fork, or a rollback with different hashes) without being caught.
//
// All I/O is injected: a Fetcher reads database paths (through a GOPROXY's /sumdb/<name>/
// endpoint, or directly), a TileCache keeps authenticated tiles, a LookupCache (optional) keeps
// verified lookup answers, a TreeState persists the latest verified tree head. See state.hpp for
// ready-made TileCache and TreeState.
//
// Trust: the first tree head ever seen is trusted (as by the go command); every later head must
// be consistent with the stored one, proven with tiles authenticated against a signed head.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "stoa/sumdb/tlog.hpp"

namespace stoa::sumdb {

// The database showed two tree heads that cannot both be true: two signed heads of the same size
// with different hashes, or a head whose tree does not contain the other as a prefix, proven by
// hashes authenticated against a signed head. what() is one line naming the database and the two
// tree sizes; evidence() holds both signed notes and the hashes proving the inconsistency (for
// logs, and for reporting the misbehavior). The stored tree head is never replaced by the head
// that caused it.
// Also thrown when a lookup is answered with an authenticated record that lacks the hashes of the
// module version asked for (another module's or version's record, as the go command's "checksum
// missing from sumdb response"): what() names the lookup and the record, evidence() holds the
// whole response.
class SecurityError : public std::runtime_error {
 public:
  SecurityError(const std::string& what, std::string evidence)
      : std::runtime_error(what), m_evidence(std::move(evidence)) {}
  const std::string& evidence() const { return m_evidence; }

 private:
  std::string m_evidence;
};

// Reads a path of the database, relative to its base: "lookup/<escaped module>@<escaped
// version>" (module::escape_path/escape_version: '!' case-encoding, not percent-escaped) or a
// tile path "tile/8/<L>/<N>[.p/<W>]". The body, or nullopt when the server says the path does not
// exist (404, 410). Throws on anything else (transport failure, other statuses): the exception
// propagates out of Client calls unchanged. Must be thread-safe. Implementations should cap the
// body at k_max_fetch_bytes.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  virtual std::optional<std::string> get(const std::string& path) = 0;
};
inline constexpr std::size_t k_max_fetch_bytes = 1 << 20;

// Authenticated hash tiles, keyed by tile path: full ones ("tile/8/0/x001/234", 8 KiB) and the
// partial ones of tree heads the client verified records against ("tile/8/0/x001/234.p/17": the
// first 17 hashes of the full tile). Only tiles authenticated against a verified tree head of
// this database are put; the data at a tile path never changes, so they may be kept forever (and
// shared by clients of the same database, never across databases). get returns nullopt when
// absent; wrong-sized data is treated as absent. put may come for a path already present when the
// cached copy failed authentication (a damaged cache): replace it. Must be thread-safe.
// Exceptions propagate out of Client calls.
class TileCache {
 public:
  virtual ~TileCache() = default;
  virtual std::optional<std::string> get(const std::string& path) = 0;
  virtual void put(const std::string& path, std::string_view data) = 0;
};

// Verified lookup answers, keyed by lookup path ("lookup/<escaped module>@<escaped version>").
// put gets an answer only once its record is authenticated against a signed tree head on the
// client's timeline, in the database's own response form: "<id>\n<record text>\n<signed note of
// that head>". A go command verifies it with the tiles that authentication used, which the
// TileCache then holds: so the answer and those tiles can be served to go commands when the
// database is unreachable. get returns nullopt when absent; a kept answer is taken as verified
// (its note's signature and the record's hashes are checked again, its inclusion is not). Must
// be thread-safe. Exceptions from put propagate out of Client calls; from get too.
class LookupCache {
 public:
  virtual ~LookupCache() = default;
  virtual std::optional<std::string> get(const std::string& path) = 0;
  virtual void put(const std::string& path, std::string_view answer) = 0;
};

// The latest verified tree head of this database, as its signed note. load() is called once,
// by the Client's constructor (nullopt: none yet). store() replaces it and must be atomic (a
// crash leaves the old or the new note); the Client never calls store() concurrently, and only
// with heads newer than the ones it stored before. Exceptions propagate.
class TreeState {
 public:
  virtual ~TreeState() = default;
  virtual std::optional<std::string> load() = 0;
  virtual void store(std::string_view signed_note) = 0;
};

struct ClientOptions {
  std::string name;          // the database name, e.g. "sum.example.org" (must match the key)
  std::string verifier_key;  // "<name>+<hash>+<keydata>", e.g. the go command's for sum.example.org
  std::size_t record_cache_entries = 4096;  // verified lookups kept in memory (0: none)
};

struct Lookup {
  enum class Status : std::uint8_t {
    found,      // zip_h1 and mod_h1 are set, verified against the latest tree head
    not_found,  // the database answered 404/410 for the lookup
    error,      // the answer could not be verified, or the module/version is invalid: message
  };
  Status status = Status::error;
  std::string zip_h1;        // "h1:..." of the module zip
  std::string mod_h1;        // "h1:..." of the go.mod file
  std::int64_t record = -1;  // the record number in the log
  std::string message;       // one printable line; empty when found
};

enum class Artifact : std::uint8_t { zip, mod };

struct Verdict {
  enum class Status : std::uint8_t {
    match,      // the hash is the one the database has
    mismatch,   // the database has another hash: the download must be refused
    not_found,  // the database does not know the module version
    error,      // no verified answer (see message), or the given hash is not an h1: hash
  };
  Status status = Status::error;
  std::string expected;  // the database's hash, when known
  std::string message;   // one printable line; empty for match
};

// Thread-safe: lookups may run concurrently from any number of threads; tile and lookup fetches
// run in parallel, tree-head updates are serialized. Blocking (I/O through the injected
// interfaces): call it from worker threads. The Fetcher, TileCache and TreeState must outlive
// the Client.
class Client {
 public:
  // Throws std::invalid_argument when the key is malformed or its name differs from
  // options.name, std::runtime_error when the stored tree head is not a note signed by that key,
  // and whatever state.load() throws.
  // `lookups` may be null (verified answers are then kept in memory only, as Lookup values).
  Client(const ClientOptions& options, Fetcher& fetcher, TileCache& tiles, TreeState& state,
         LookupCache* lookups = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& name() const;

  // The verified go.sum hashes of module_path@version (decoded forms; version canonical, without
  // "/go.mod"). Fetches the lookup record, verifies its signed tree head, merges that head into
  // the latest one (proving consistency; a newer head is persisted), then authenticates the
  // record against the latest head through tiles (every tile checked against the signed head or
  // its authenticated parent before any hash of it is used or kept) and extracts the two h1:
  // lines of exactly module_path@version (byte-equal path and version, as the go command's
  // prefix match). Other lines of the record, about other modules or versions, are ignored: they
  // reach no Lookup. Once both lines are found, the answer is kept in the LookupCache with the
  // signed head it was authenticated against; an answer already there is used without a fetch.
  // Throws SecurityError on proven misbehavior and when the authenticated record lacks either
  // h1: line of module_path@version; and what the injected interfaces throw.
  Lookup lookup(std::string_view module_path, std::string_view version);

  // Compares a downloaded file's hash with the database's (through lookup(); same exceptions).
  Verdict verify(std::string_view module_path, std::string_view version, Artifact artifact,
                 std::string_view h1);

  // The latest verified tree head (size 0 with the empty hash before any).
  Tree latest() const;
  // Its signed note, as the database served it (empty before any).
  std::string latest_note() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// "lookup/<escaped path>@<escaped version>", or nullopt when the path or version is invalid.
std::optional<std::string> lookup_path(std::string_view module_path, std::string_view version);

}  // namespace stoa::sumdb
