#pragma once
// Conditional creates of one blob over the client: one Put Blob, or Put Block for each block
// (read from a file with pread) and a Put Block List, the condition (If-None-Match: *) on
// Put Blob or on Put Block List.

#include <cstdint>
#include <string>

#include "stoa/store/azure/client.hpp"

namespace stoa::store::azure {

// Put Blob of the `size` bytes of `fd` as `key`. true: created; false: the key existed
// (409 BlobAlreadyExists, or 412). Throws StoreError otherwise.
bool put_blob(Client& client, const std::string& key, int fd, std::uint64_t size);

// The same in blocks of options().block_size. The block ids are random per upload, so that
// racing writers of one key never commit each other's blocks. Throws StoreError otherwise
// (the uncommitted blocks are left for the service to collect).
bool put_blocks(Client& client, const std::string& key, int fd, std::uint64_t size);

// Put Blob of `bytes` as `key`, replacing what is there (the derived list). Throws StoreError.
void replace_blob(Client& client, const std::string& key, const std::string& bytes);

}  // namespace stoa::store::azure
