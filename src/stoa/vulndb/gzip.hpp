#pragma once
// gzip members as the vulnerability database serves them (`<file>.json.gz`), over zlib. Pure,
// thread-safe, no shared state.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::vulndb {

// `data` as one gzip member (deflate level 6, no name, mtime 0): the same bytes for the same
// input, so a file's .gz and its ETag stay the same across restarts. Throws std::bad_alloc.
std::string gzip(std::string_view data);

// The content of the gzip stream `data` (concatenated members allowed, as Go's gzip.Reader
// reads them), or nullopt with `error` set when it is not gzip, is cut short, has bytes after
// the last member, or would decompress to more than `max_size` bytes (a gzip bomb is stopped
// after `max_size` bytes of output, whatever its ratio). Never throws but std::bad_alloc.
std::optional<std::string> gunzip(std::string_view data, std::size_t max_size, std::string& error);

}  // namespace stoa::vulndb
