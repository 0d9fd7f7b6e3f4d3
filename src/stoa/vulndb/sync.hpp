#pragma once
// The periodic sync of the mirrored vulnerability database from a source in the published
// layout (another mirror, or the database's own server), over HTTP(S):
//   1. GET <source>/index/db.json.gz, conditional (If-None-Match with the last ETag): a 304, or
//      a db.json with the time of the snapshot served, ends the sync with nothing changed;
//   2. GET index/modules.json.gz and index/vulns.json.gz;
//   3. GET ID/<id>.json.gz for each entry vulns.json lists whose modified time differs from the
//      snapshot served (the others are taken from it);
//   4. the whole is verified and installed as a new snapshot (Repository::install: the same
//      checks as an import, the atomic switch), and the mirror switches to it.
// Any failure (transfer, status, gzip, limits, verification) leaves everything as it was: the
// snapshot served and the one on disk stay, and the next sync starts over. Redirects are not
// followed; every body is bounded by Limits before it is decompressed and after.
//
// Not thread-safe: one sync at a time (the caller serializes; Graph runs it on a worker).

#include <chrono>
#include <string>

#include "stoa/vulndb/mirror.hpp"

namespace stoa::vulndb {

struct SyncOptions {
  std::string source;  // base URL, e.g. https://mirror.example/vulndb (no trailing '/')
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds transfer_timeout{120'000};  // one document
};

class Syncer {
 public:
  Syncer(SyncOptions options, Mirror& mirror) : m_options(std::move(options)), m_mirror(mirror) {}

  struct Outcome {
    enum class Kind { unchanged, updated, failed } kind = Kind::unchanged;
    std::string detail;  // what changed, or why it failed (one line, for the log)
  };
  // Runs one sync; never throws but std::bad_alloc.
  Outcome sync_once();

 private:
  Outcome run();

  SyncOptions m_options;
  Mirror& m_mirror;
  std::string m_etag;  // of the last index/db.json.gz that was taken in
};

}  // namespace stoa::vulndb
