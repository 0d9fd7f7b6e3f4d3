#pragma once
// go.sum lines and h1: hashes as the checksum database records them. Pure, thread-safe, never
// throw (except std::bad_alloc); safe on arbitrary bytes.

#include <optional>
#include <string_view>

namespace stoa::sumdb {

// "<module> <version> <hash>" or "<module> <version>/go.mod <hash>", fields separated by exactly
// one space. Views into the parsed line.
struct GoSumLine {
  std::string_view module_path;
  std::string_view version;  // without "/go.mod"
  bool go_mod = false;       // the line is about the go.mod file
  std::string_view hash;     // e.g. "h1:..."
};
// nullopt unless the line has exactly three non-empty fields (no '\n').
std::optional<GoSumLine> parse_go_sum_line(std::string_view line);

// "h1:" followed by the canonical base64 of 32 bytes (44 characters ending in '=').
bool is_h1(std::string_view hash);

// Whether two hashes are both well-formed h1: hashes and the same hash. The go command compares
// go.sum hashes as strings; so does this, after checking the form.
bool h1_equal(std::string_view a, std::string_view b);

}  // namespace stoa::sumdb
