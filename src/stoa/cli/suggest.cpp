#include "stoa/cli/suggest.hpp"

#include <algorithm>

#include "stoa/text/ascii.hpp"

namespace stoa::cli {
namespace {

using text::to_lower;

// Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring).
std::size_t distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = to_lower(a[i - 1]) == to_lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && to_lower(a[i - 1]) == to_lower(b[j - 2]) &&
          to_lower(a[i - 2]) == to_lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

}  // namespace

std::optional<std::string> closest(std::string_view typed,
                                   const std::vector<std::string_view>& candidates) {
  // Names are short; anything longer than this is not a typo of one.
  if (typed.empty() || typed.size() > 256) return std::nullopt;
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto c : candidates) {
    const std::size_t dist = distance(typed, c);
    const std::size_t limit = std::max<std::size_t>(1, std::max(typed.size(), c.size()) / 3);
    if (dist > limit) continue;
    if (!best || dist < best_distance) {
      best = std::string(c);
      best_distance = dist;
    }
  }
  return best;
}

}  // namespace stoa::cli
