#pragma once
// objects.insert over the client: one multipart request (the object's metadata and its bytes),
// or a resumable upload in chunks read from a file with pread. With `if_absent` the insert
// carries ifGenerationMatch=0: GCS creates the object only if the name holds none, else 412.

#include <cstdint>
#include <string>

#include "stoa/store/gcs/client.hpp"

namespace stoa::store::gcs {

// The object's bytes: `bytes`, or (when fd >= 0) `size` bytes of `fd` from offset 0.
struct Content {
  const std::string* bytes = nullptr;
  int fd = -1;
  std::uint64_t size = 0;
};

// One multipart objects.insert of `content` at `key`. true: created; false: 412 (with
// `if_absent`, the key existed). Throws StoreError otherwise.
bool insert_multipart(Client& client, const std::string& key, const Content& content,
                      bool if_absent);

// A resumable upload of `size` bytes of `fd` at `key` with ifGenerationMatch=0, in chunks of
// options().chunk_size; a failed chunk starts a new session from the first byte (at most
// max_attempts sessions). true: created; false: 412 (the key existed, or a lost answer to our own
// final chunk). Throws StoreError otherwise.
bool insert_resumable(Client& client, const std::string& key, int fd, std::uint64_t size);

}  // namespace stoa::store::gcs
