#pragma once
// The Store interface: where stored module files live. Keys are GOPROXY-relative paths in their
// case-encoded form, e.g. "github.com/!azure/x/@v/v1.0.0.zip", so that a disk store's root is
// itself a valid GOPROXY file tree.
//
// Contract for every backend:
// - Absence is a value: get() returns nullopt only when the key truly does not exist.
// - Any backend failure throws StoreError; it is never reported as absence.
// - Write-once: put() never replaces existing bytes; the first bytes win forever.
// - Atomic: an object is either fully visible with its final bytes or not visible at all.
// - Thread-safe: all methods may be called concurrently from any thread.
// - Keys are checked defensively (relative, no empty or dot-leading segments, the characters of
//   escaped paths and versions, a known GOPROXY file name at the end): get() and put() of any
//   other key throw StoreError, so no key reaches outside the backend's namespace.
// - "<m>/@v/list" is the one object a backend replaces: each commit of a non-pseudo
//   "<m>/@v/<v>.info" rewrites it with the case-decoded non-pseudo versions that have a .info,
//   one per line, sorted bytewise. A module with only pseudo-versions has no list object.
//   The list is derived: a pure function of the stored .info keys, so anyone may recompute it.
//   A crash or a full disk between the .info commit and the list rewrite leaves it stale until
//   the next commit of the module or a repair_list() brings it back in line.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "stoa/fsio/temp_file.hpp"
#include "stoa/fsio/unique_fd.hpp"

namespace stoa::store {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by put() when the object itself was committed (it is stored and will be served) but
// updating a file derived from it, the module's list, failed (a full disk, a lost connection).
// The derived file converges later: on the next commit or repair_list() of the module.
class DerivedFileError : public StoreError {
 public:
  using StoreError::StoreError;
};

struct Object {
  std::uint64_t size = 0;
  std::int64_t mtime_unix = 0;  // seconds; when the object was committed
  std::string etag;  // strong validator, quoted ("\"...\""); stable for the object's life
  // Either an open file (read it with pread/sendfile from offset 0; size is fixed) or bytes.
  std::variant<fsio::UniqueFd, std::shared_ptr<const std::string>> body;
};

class Store {
 public:
  virtual ~Store() = default;

  // nullopt when `key` is absent. Throws StoreError on backend failure.
  virtual std::optional<Object> get(const std::string& key) = 0;

  // A temp file on the same filesystem as the store's objects (so put can rename it).
  // Throws StoreError.
  virtual fsio::TempFile stage() = 0;

  // Commits the staged file under `key` if the key is absent: fsync, atomic no-replace rename,
  // directory fsync. Returns true if committed, false if `key` already existed (existing bytes
  // unchanged, staged file discarded). Throws StoreError.
  // Committing "<m>/@v/<v>.info" of a non-pseudo version also refreshes "<m>/@v/list"; when
  // only that refresh fails, put throws DerivedFileError (the .info is committed).
  virtual bool put(const std::string& key, fsio::TempFile staged) = 0;

  // Makes "<m>/@v/list" match the stored .info keys of `escaped_module` (an absent list counts
  // as empty). Returns true if it had to rewrite the list, false if it was already right.
  // Serialized with the list refresh of put(). Throws StoreError.
  virtual bool repair_list(const std::string& escaped_module) = 0;

  // Versions (escaped form, as in keys) of `escaped_module` that have a stored .info,
  // pseudo-versions included, in no particular order. Empty when none. Throws StoreError.
  virtual std::vector<std::string> versions(const std::string& escaped_module) = 0;

  // Escaped paths of the modules with at least one object under "<m>/@v/" (a .info, .mod, .zip,
  // a hash or a list), each once, in no particular order; and the names of those objects
  // ("v1.0.0.zip", "list"). For maintenance commands (stoa verify, stoa index rebuild), never on
  // a request's path: they read the whole namespace. Throw StoreError.
  virtual std::vector<std::string> modules() = 0;
  virtual std::vector<std::string> files(const std::string& escaped_module) = 0;

  // Whether get() (and versions()) may block for longer than a local syscall: true for a remote
  // backend (a network round trip), false for disk and memory. A caller on a thread that must
  // not block (an event loop) sends the reads of such a store to a worker pool; the disk store is
  // read in place (an open and an fstat).
  virtual bool reads_may_block() const { return false; }
};

// The body "<m>/@v/list" must have for these versions (escaped, as versions() returns them): the
// case-decoded non-pseudo versions, sorted bytewise, one per line. Pure.
std::string list_body(const std::vector<std::string>& escaped_versions);

// Where a client can fetch a stored object by itself (an object store's presigned URL, a CDN):
// lets a proxy answer with a redirect instead of sending the bytes. Thread-safe.
class Redirector {
 public:
  virtual ~Redirector() = default;

  // A URL serving `key`'s bytes for a while, or nullopt when `key` is not stored.
  // Throws StoreError on backend failure (never nullopt for it).
  virtual std::optional<std::string> locate(const std::string& key) = 0;
};

}  // namespace stoa::store
