#pragma once
// Ready-made TileCache and TreeState implementations for the checksum database Client.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "stoa/sumdb/client.hpp"

namespace stoa::sumdb {

// In memory, least recently used tiles dropped beyond `max_tiles` (8 KiB each). Thread-safe.
std::unique_ptr<TileCache> make_memory_tile_cache(std::size_t max_tiles = 4096);

// In memory, starting with `initial` (a signed note) if given. Thread-safe. For tests.
std::unique_ptr<TreeState> make_memory_tree_state(std::optional<std::string> initial = {});

// One file holding the signed note. load(): nullopt when the file does not exist; throws
// std::system_error when it cannot be read, std::runtime_error when it is larger than
// k_max_note_bytes. store(): writes a temporary file next to it, fsyncs it, renames it over the
// file and fsyncs the directory; throws std::system_error. The directory must exist. Several
// processes may share the file (replicas on one data directory): store() holds flock(2) on the
// directory and keeps the stored head when it is a tree at least as large as the new one, so
// the persisted head never goes back. Thread-safe.
std::unique_ptr<TreeState> make_file_tree_state(std::filesystem::path file);

}  // namespace stoa::sumdb
