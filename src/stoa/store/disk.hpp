#pragma once
// Local disk Store. Layout: `<root>/<key>`, so the root is a GOPROXY file tree
// (GOPROXY=file:///<root> works). Temp files live in `<root>/.stoa-tmp/` and are swept at open.

#include <filesystem>
#include <memory>

#include "stoa/store/store.hpp"

namespace stoa::store {

// Creates the root if missing and sweeps leftovers of crashed processes. Throws StoreError
// if the root cannot be created or is not writable.
std::unique_ptr<Store> make_disk_store(const std::filesystem::path& root);

}  // namespace stoa::store
