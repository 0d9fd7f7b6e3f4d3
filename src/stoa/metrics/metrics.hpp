#pragma once
// Prometheus metrics: counters, gauges and histograms with fixed label sets, rendered in the text
// exposition format (version 0.0.4). No globals: a Registry is built at start-up and passed down.
//
// Thread-safety: children are created under the family's mutex (at set-up, or rarely); updating
// a child is lock-free (relaxed atomics), so callers on hot paths keep child references.
// Child references stay valid for the registry's lifetime.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { m_value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return m_value.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { m_value.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { m_value.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return m_value.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> m_value{0};
};

// Observations in seconds; buckets are upper bounds, ascending; +Inf is implicit.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double seconds);
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return m_bounds; }

 private:
  std::vector<double> m_bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> m_counts;  // per bucket (not cumulative), +Inf last
  std::atomic<std::uint64_t> m_sum_nanos{0};
  std::atomic<std::uint64_t> m_count{0};
};

// Default latency buckets: 100 µs .. 60 s.
const std::vector<double>& latency_buckets();

// A metric name with its HELP text and label names; children per label-value tuple.
template <class T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : m_name(std::move(name)),
        m_help(std::move(help)),
        m_labels(std::move(labels)),
        m_bounds(std::move(bounds)) {}

  // The child for these label values (as many as label names), created on first use.
  T& with(const std::vector<std::string>& values) {
    std::lock_guard lock(m_mutex);
    auto it = m_index.find(values);
    if (it != m_index.end()) return *it->second;
    if constexpr (std::is_same_v<T, Histogram>) {
      m_children.emplace_back(m_bounds);
    } else {
      m_children.emplace_back();
    }
    m_index.emplace(values, &m_children.back());
    return m_children.back();
  }

  const std::string& name() const { return m_name; }
  const std::string& help() const { return m_help; }
  const std::vector<std::string>& labels() const { return m_labels; }

  // Calls f(label values, child) for each child in label order.
  void each(const std::function<void(const std::vector<std::string>&, const T&)>& f) const {
    std::lock_guard lock(m_mutex);
    for (const auto& [values, child] : m_index) f(values, *child);
  }

 private:
  std::string m_name;
  std::string m_help;
  std::vector<std::string> m_labels;
  std::vector<double> m_bounds;
  mutable std::mutex m_mutex;
  std::deque<T> m_children;  // deque: stable addresses
  std::map<std::vector<std::string>, T*> m_index;
};

class Registry {
 public:
  Family<Counter>& counter(std::string name, std::string help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> labels = {},
                               std::vector<double> bounds = latency_buckets());
  // A gauge computed when rendered (e.g. fetches in flight, open connections).
  void callback_gauge(std::string name, std::string help, std::function<double()> read);

  // The text exposition of every family, in registration order.
  std::string render() const;

 private:
  struct CallbackGauge {
    std::string name, help;
    std::function<double()> read;
  };
  // Renders one family; kept in registration order.
  using Renderer = std::function<void(std::string&)>;

  mutable std::mutex m_mutex;
  std::deque<Family<Counter>> m_counters;
  std::deque<Family<Gauge>> m_gauges;
  std::deque<Family<Histogram>> m_histograms;
  std::deque<CallbackGauge> m_callbacks;
  std::vector<Renderer> m_renderers;
};

// Exposition-format escaping: label values escape backslash, double quote and newline;
// HELP text escapes backslash and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// A float as Prometheus writes it: "+Inf", "-Inf", "NaN", or the shortest round-trip decimal.
std::string format_value(double v);

}  // namespace stoa::metrics
