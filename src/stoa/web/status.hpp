#pragma once
// The status page's numbers: read from the metrics stoa already keeps (the registry's text
// exposition, parsed back), and a bounded in-memory history of a few of them for the charts
// (no time-series database).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/web/pages.hpp"

namespace stoa::web {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of a Prometheus text exposition (comments and malformed lines skipped; label
// values unescaped). Pure; never throws but std::bad_alloc.
std::vector<Sample> parse_exposition(std::string_view text);

// The sum of the samples named `name` whose labels include every pair of `match`.
double sum(const std::vector<Sample>& samples, std::string_view name,
           const std::map<std::string, std::string>& match = {});

// The status page's view of one exposition (everything but the store's space, the lock, the
// checksum database, the charts and the errors, which the caller adds).
StatusView status_of(const std::vector<Sample>& samples);

// Counters sampled at a fixed interval, the last `capacity` kept; the charts show the rate
// between consecutive samples. Thread-safe.
class History {
 public:
  explicit History(std::size_t capacity = 180) : m_capacity(capacity) {}
  void add(const std::vector<Sample>& samples, double seconds_since_epoch);
  std::vector<Series> series() const;

 private:
  struct Point {
    double t = 0;
    double requests = 0;
    double bytes = 0;
    double misses = 0;
    double in_flight = 0;
  };
  std::size_t m_capacity;
  mutable std::mutex m_mu;
  std::deque<Point> m_points;
};

}  // namespace stoa::web
