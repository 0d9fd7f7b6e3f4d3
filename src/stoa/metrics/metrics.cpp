#include "stoa/metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace stoa::metrics {
namespace {

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help),
                 name, type);
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : m_bounds(bounds),
      m_counts(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 0; i <= bounds.size(); ++i) m_counts[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double seconds) {
  const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), seconds);
  m_counts[static_cast<std::size_t>(it - m_bounds.begin())].fetch_add(1, std::memory_order_relaxed);
  const double nanos = std::max(0.0, seconds) * 1e9;
  m_sum_nanos.fetch_add(static_cast<std::uint64_t>(nanos), std::memory_order_relaxed);
  m_count.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    running += m_counts[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;  // consistent with the buckets even while observations race
  s.sum = static_cast<double>(m_sum_nanos.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                        1,      2.5,     5,      10,    30,     60};
  return b;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(m_mutex);
  auto& f = m_counters.emplace_back(std::move(name), std::move(help), std::move(labels));
  m_renderers.emplace_back([&f](std::string& out) {
    append_header(out, f.name(), f.help(), "counter");
    f.each([&](const std::vector<std::string>& values, const Counter& c) {
      out += f.name();
      append_labels(out, f.labels(), values);
      fmt::format_to(std::back_inserter(out), " {}\n", c.value());
    });
  });
  return f;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help,
                               std::vector<std::string> labels) {
  std::lock_guard lock(m_mutex);
  auto& f = m_gauges.emplace_back(std::move(name), std::move(help), std::move(labels));
  m_renderers.emplace_back([&f](std::string& out) {
    append_header(out, f.name(), f.help(), "gauge");
    f.each([&](const std::vector<std::string>& values, const Gauge& g) {
      out += f.name();
      append_labels(out, f.labels(), values);
      fmt::format_to(std::back_inserter(out), " {}\n", g.value());
    });
  });
  return f;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(m_mutex);
  auto& f = m_histograms.emplace_back(std::move(name), std::move(help), std::move(labels),
                                      std::move(bounds));
  m_renderers.emplace_back([&f](std::string& out) {
    append_header(out, f.name(), f.help(), "histogram");
    f.each([&](const std::vector<std::string>& values, const Histogram& h) {
      const auto snap = h.snapshot();
      for (std::size_t i = 0; i < snap.cumulative.size(); ++i) {
        out += f.name();
        out += "_bucket";
        const std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
        append_labels(out, f.labels(), values, "le", le);
        fmt::format_to(std::back_inserter(out), " {}\n", snap.cumulative[i]);
      }
      out += f.name();
      out += "_sum";
      append_labels(out, f.labels(), values);
      fmt::format_to(std::back_inserter(out), " {}\n", format_value(snap.sum));
      out += f.name();
      out += "_count";
      append_labels(out, f.labels(), values);
      fmt::format_to(std::back_inserter(out), " {}\n", snap.count);
    });
  });
  return f;
}

void Registry::callback_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(m_mutex);
  auto& g =
      m_callbacks.emplace_back(CallbackGauge{std::move(name), std::move(help), std::move(read)});
  m_renderers.emplace_back([&g](std::string& out) {
    append_header(out, g.name, g.help, "gauge");
    fmt::format_to(std::back_inserter(out), "{} {}\n", g.name, format_value(g.read()));
  });
}

std::string Registry::render() const {
  std::lock_guard lock(m_mutex);
  std::string out;
  out.reserve(8192);
  for (const auto& r : m_renderers) r(out);
  return out;
}

}  // namespace stoa::metrics
