#pragma once
// S3-compatible Store (AWS S3, Ceph RGW, R2, SeaweedFS, versitygw, ...) over libcurl with its
// built-in AWS SigV4 signing. Objects live at "<bucket>/<prefix><key>", so the bucket (under the
// prefix) is a GOPROXY file tree like the disk store's root.
//
// Beyond the store.hpp contract:
// - get() is one exact-key GET (never a LIST). A body up to `inline_max` bytes is returned as
//   bytes; a bigger one is streamed into an unlinked file in `spool_dir` (O_TMPFILE) and returned
//   as that file's descriptor, so memory stays flat for a 500 MiB zip (the disk holds the copy
//   while the caller has it open). Why not stream from the GET: callers send bodies with
//   pread/sendfile at any offset (ranges), which needs a regular file of fixed size; a pipe or a
//   growing file would need the HTTP layer to wait for bytes. Simultaneous gets of one key share
//   one GET and one spool file (each caller gets its own descriptor); nothing is cached after.
//   404 NoSuchKey is absence; every other failure throws.
// - put() commits with a conditional create (If-None-Match: *): one PUT up to `part_size`,
//   otherwise a streamed multipart upload (parts of `part_size`, read with pread, aborted on
//   failure, the condition on CompleteMultipartUpload). 412 means the key existed: false.
//   With conditional writes off (servers that ignore the header) put() does HEAD then PUT:
//   two writers racing on one key can both "win" and the last bytes stay. For module files the
//   bytes were checked against the checksum database, so racing writers hold the same bytes.
// - "<m>/@v/list" is rebuilt from a paged LIST of "<m>/@v/" after each tagged .info commit and
//   PUT unconditionally; in one process the rebuilds of one module are serialized. Between
//   replicas, two rebuilds can interleave; each rebuild re-lists after its PUT and rewrites
//   (a few times at most) while the bucket holds .info keys its list lacks.
// - Transient failures (connection errors, stalls, 5xx, 429) are retried with exponential backoff
//   up to `max_attempts`; 4xx answers are not retried. Thread-safe: curl handles come from a pool.
// - Files: client (transport over curl/), store (this contract), writes (conditional creates,
//   multipart uploads, the conditional-write probe), presign (redirects), sigv4 (pure signing,
//   tested against AWS's published examples), xml (the S3 documents).
// - Secrets never appear in errors or logs.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "stoa/store/store.hpp"

namespace stoa::store {

enum class ConditionalWrite {
  automatic,  // probe the server once at start: a second create of one key must answer 412
  on,         // If-None-Match: * on every commit
  off,        // HEAD then PUT (racy; see above)
};

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:7070", "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string prefix;  // "" or e.g. "goproxy/" (a missing trailing '/' is added)
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // optional (x-amz-security-token)
  bool virtual_host = false;  // "<bucket>.<endpoint host>" instead of "<endpoint>/<bucket>"
  ConditionalWrite conditional = ConditionalWrite::automatic;
  std::uint64_t part_size = std::uint64_t{16} << 20;  // at least 5 MiB (the S3 minimum)
  std::uint64_t inline_max = std::uint64_t{1} << 20;  // bigger GET bodies go to spool_dir
  std::filesystem::path spool_dir;  // staged puts and spooled reads; created if missing
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds stall_timeout{60'000};  // no byte moved for this long: the attempt
                                                    // fails (curl/transfer.hpp); zero: off
  long max_keys = 1000;  // LIST page size (the S3 maximum; tests use less to force paging)
};

// Checks the options and reaches the bucket (a HEAD of the bucket, and with automatic
// conditional writes one probe object under "<prefix>.stoa-probe/", deleted afterwards).
// Throws StoreError with one clear message when the bucket cannot be used.
std::unique_ptr<Store> make_s3_store(const S3Options& options);

// Presigned GET URLs (SigV4 query signing) valid for `ttl`, for keys that a HEAD finds stored.
// The URL names s3_endpoint, which the clients must be able to reach. Does not contact the
// server until the first locate(). Throws StoreError on bad options.
std::unique_ptr<Redirector> make_s3_redirector(const S3Options& options, std::chrono::seconds ttl);

// What make_s3_store decided for automatic conditional writes; for logs and tests.
bool s3_uses_conditional_writes(const Store& store);

}  // namespace stoa::store
