#pragma once
// MongoDB Store over libmongoc (Debian's libmongoc-dev): object bodies in GridFS, one metadata
// document per key in a collection. Works with MongoDB and MongoDB-wire-compatible servers that
// have GridFS's needs (unique indexes, sorted finds): the tests run FerretDB.
//
// Layout in `database`: the collection "<prefix>.objects" holds one document per stored key,
//   { _id: <key>, m: <escaped module>, n: <file name under @v/>, size: <int64>,
//     mtime: <date>, etag: <string>, data: <binary> | file: <ObjectId> }
// (m and n only for keys under "<m>/@v/"); small bodies (up to `inline_max` bytes: .info, .mod,
// the list, hashes, tiles) sit in `data`, bigger ones are GridFS files of the bucket <prefix>
// ("<prefix>.files", "<prefix>.chunks") named by `file`.
//
// Beyond the store.hpp contract:
// - Write-once by the unique _id of the metadata document: put() uploads a GridFS file under a
//   fresh ObjectId first (invisible: no metadata names it), then inserts the metadata document;
//   a duplicate-key error (E11000) means the key existed: put returns false and deletes its
//   upload. A crash between the two leaves an unreferenced GridFS file (never served).
// - get() is one find by _id. An inline body is returned as bytes; a GridFS body is streamed
//   into an unlinked file in `spool_dir` (O_TMPFILE) chunk by chunk and returned as that file's
//   descriptor, so memory stays flat for a 500 MiB zip. Uploads read the staged file in 1 MiB
//   pieces. A metadata document whose GridFS file is missing, or whose size disagrees with the
//   bytes read, is an error, not absence.
// - "<m>/@v/list" is rebuilt from a find of the module's documents after each tagged .info
//   commit and replaced (upsert); serialized per module in one process, re-listed after writing
//   against other replicas (as the S3 store does).
// - Listings (versions(), modules(), files()) are cursors read in batches of `page_size`.
// - Every failure (server selection, a lost connection, a timeout, a server error) throws
//   StoreError. The URI's credentials never appear in errors or logs.
// - Thread-safe: each call takes a client from a mongoc_client_pool.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "stoa/store/store.hpp"

namespace stoa::store {

struct MongoOptions {
  // "mongodb://host:27017/?replicaSet=rs0"; credentials, TLS and write concern are URI options.
  std::string uri;
  std::string database = "stoa";
  std::string prefix = "stoa";  // collection "<prefix>.objects", GridFS bucket "<prefix>"
  std::uint64_t inline_max = std::uint64_t{64} << 10;  // bigger bodies go to GridFS
  std::filesystem::path spool_dir;  // staged puts and spooled reads; created if missing
  // Used unless the URI sets connectTimeoutMS / serverSelectionTimeoutMS (connect_timeout) and
  // socketTimeoutMS (stall_timeout; zero: none).
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{60'000};
  std::int32_t page_size = 1000;  // cursor batch size of listings
};

// Checks the options, reaches the server (a ping) and creates the metadata collection's
// indexes. Throws StoreError with one clear message when the database cannot be used.
std::unique_ptr<Store> make_mongodb_store(const MongoOptions& options);

}  // namespace stoa::store
