#pragma once
// Google Cloud Storage Store over the JSON API (not the S3 interoperability mode), over libcurl.
// Objects live at "<bucket>/<prefix><key>", so the bucket (under the prefix) is a GOPROXY file
// tree like the disk store's root.
//
// Beyond the store.hpp contract:
// - get() is one objects.get with alt=media (never a listing). A body up to `inline_max` bytes
//   is returned as bytes; a bigger one is streamed into an unlinked file in `spool_dir`
//   (O_TMPFILE) and returned as its descriptor, so memory stays flat for a 500 MiB zip.
//   Simultaneous gets of one key share one download (as the S3 store does). A 404 is absence only
//   when it says the object is missing ("No such object: ..."); any other 404 (a missing bucket)
//   throws. fake-gcs-server answers every 404 with a bare "Not Found" and cannot tell a missing
//   bucket from a missing object; that body is read as absence too.
// - put() commits with ifGenerationMatch=0, GCS's "create only if absent": objects up to
//   `resumable_over` bytes in one multipart objects.insert, bigger ones in a resumable upload
//   (chunks of `chunk_size`, read with pread; the condition is checked when the upload
//   completes). 412 means the key existed: false. A resumable upload whose chunk fails is
//   started again from its first byte in a new session (bounded by max_attempts): a failed
//   chunk is never resent into the same session.
// - "<m>/@v/list" is rebuilt from a paged listing of "<m>/@v/" after each tagged .info commit
//   and written unconditionally; in one process the rebuilds of one module are serialized.
//   Between replicas, each rebuild re-lists after writing and rewrites (a few times at most)
//   while the bucket holds .info keys its list lacks. GCS allows about one write per second to
//   one object name; a faster rewrite is answered 429 and retried with backoff.
// - Transient failures (connection errors, stalls, 5xx, 429) are retried with exponential backoff
//   up to `max_attempts`; a 401 drops the cached access token and is retried once. Other 4xx
//   are not retried. Thread-safe: curl handles come from a pool.
// - Files: client (transport over curl/), store (this contract), upload (multipart and
//   resumable inserts), auth (access tokens: service-account key, metadata server), jwt (RS256).
// - Tokens and keys never appear in errors or logs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "stoa/store/store.hpp"

namespace stoa::store {

enum class GcsAuth {
  none,             // no Authorization header (an emulator)
  service_account,  // a JSON key: a signed JWT exchanged at its token_uri
  metadata,         // the metadata server of the machine (Compute Engine, GKE, Cloud Run)
};

struct GcsOptions {
  std::string endpoint = "https://storage.googleapis.com";  // JSON API root, or an emulator's
  std::string bucket;
  std::string prefix;  // "" or e.g. "goproxy/" (a missing trailing '/' is added)
  GcsAuth auth = GcsAuth::metadata;
  std::string key_json;    // auth == service_account: the key file's contents
  std::string key_origin;  // where the key came from, for messages (a file name)
  // auth == metadata: "host[:port]" of the metadata server (GCE_METADATA_HOST convention).
  std::string metadata_host = "metadata.google.internal";
  std::string scope = "https://www.googleapis.com/auth/devstorage.read_write";
  std::uint64_t resumable_over = std::uint64_t{16} << 20;  // bigger objects: resumable upload
  std::uint64_t chunk_size = std::uint64_t{16} << 20;      // a multiple of 256 KiB
  std::uint64_t inline_max = std::uint64_t{1} << 20;       // bigger GET bodies go to spool_dir
  std::filesystem::path spool_dir;  // staged puts and spooled reads; created if missing
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{60'000};  // no byte moved for this long: the attempt
                                                    // fails (curl/transfer.hpp); zero: off
  long page_size = 1000;  // objects.list maxResults (tests use less to force paging)
};

// Checks the options, obtains a first access token and reaches the bucket (one objects.list of
// at most one name). Throws StoreError with one clear message when the bucket cannot be used.
std::unique_ptr<Store> make_gcs_store(const GcsOptions& options);

}  // namespace stoa::store
