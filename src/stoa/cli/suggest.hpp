#pragma once
// "Did you mean": the candidate closest to a mistyped name (a subcommand, a configuration key,
// a STOA_* variable), for error messages. Pure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::cli {

// The candidate with the smallest edit distance (insertions, deletions, substitutions and
// transpositions of adjacent letters, ASCII case ignored) to `typed`, if that distance is at
// most a third of the longer name's length (and at least 1); nullopt when nothing is that
// close. Ties go to the earlier candidate.
std::optional<std::string> closest(std::string_view typed,
                                   const std::vector<std::string_view>& candidates);

}  // namespace stoa::cli
