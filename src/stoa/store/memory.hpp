#pragma once
// In-memory Store for tests. Staging happens in `staging_dir` (a temp directory).

#include <filesystem>
#include <memory>

#include "stoa/store/store.hpp"

namespace stoa::store {

std::unique_ptr<Store> make_memory_store(const std::filesystem::path& staging_dir);

}  // namespace stoa::store
