#include "stoa/web/status.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace stoa::web {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

// Parses `{a="x",b="y"}` at the start of `s`; false when malformed.
bool parse_labels(std::string_view& s, std::map<std::string, std::string>& out) {
  s.remove_prefix(1);  // '{'
  while (!s.empty() && s.front() != '}') {
    std::size_t n = 0;
    while (n < s.size() && name_char(s[n])) ++n;
    if (n == 0 || n + 1 >= s.size() || s[n] != '=' || s[n + 1] != '"') return false;
    const std::string key(s.substr(0, n));
    s.remove_prefix(n + 2);
    std::string value;
    for (;;) {
      if (s.empty()) return false;
      const char c = s.front();
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\') {
        if (s.empty()) return false;
        const char e = s.front();
        s.remove_prefix(1);
        value += e == 'n' ? '\n' : e;
      } else {
        value += c;
      }
    }
    out[key] = std::move(value);
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
  if (s.empty()) return false;
  s.remove_prefix(1);  // '}'
  return true;
}

}  // namespace

std::vector<Sample> parse_exposition(std::string_view text) {
  std::vector<Sample> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    Sample s;
    std::size_t n = 0;
    while (n < line.size() && name_char(line[n])) ++n;
    if (n == 0) continue;
    s.name = std::string(line.substr(0, n));
    line.remove_prefix(n);
    if (!line.empty() && line.front() == '{' && !parse_labels(line, s.labels)) continue;
    if (line.empty() || line.front() != ' ') continue;
    line.remove_prefix(1);
    const auto sp = line.find(' ');
    const std::string number(line.substr(0, sp));
    if (number == "+Inf") {
      s.value = HUGE_VAL;
    } else {
      const auto* end = number.data() + number.size();
      const auto [p, ec] = std::from_chars(number.data(), end, s.value);
      if (ec != std::errc() || p != end) continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

double sum(const std::vector<Sample>& samples, std::string_view name,
           const std::map<std::string, std::string>& match) {
  double total = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      const auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) ok = false;
    }
    if (ok) total += s.value;
  }
  return total;
}

StatusView status_of(const std::vector<Sample>& samples) {
  StatusView v;
  const double hits = sum(samples, "stoa_cache_answers_total", {{"outcome", "hit"}});
  const double misses = sum(samples, "stoa_cache_answers_total", {{"outcome", "miss"}}) +
                        sum(samples, "stoa_cache_answers_total", {{"outcome", "coalesced"}});
  if (hits + misses > 0) v.hit_ratio = hits / (hits + misses);
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> endpoints;
  std::map<std::string, std::uint64_t> fetches;
  std::map<std::string, std::pair<double, double>> latency;  // kind -> (sum, count)
  for (const auto& s : samples) {
    const auto label = [&](const char* k) {
      const auto it = s.labels.find(k);
      return it == s.labels.end() ? std::string() : it->second;
    };
    if (s.name == "stoa_http_requests_total") {
      endpoints[label("endpoint")].first += static_cast<std::uint64_t>(s.value);
    } else if (s.name == "stoa_http_response_bytes_total") {
      endpoints[label("endpoint")].second += static_cast<std::uint64_t>(s.value);
    } else if (s.name == "stoa_upstream_fetches_total") {
      fetches[label("kind") + " " + label("result")] += static_cast<std::uint64_t>(s.value);
    } else if (s.name == "stoa_upstream_fetch_duration_seconds_sum") {
      latency[label("kind")].first += s.value;
    } else if (s.name == "stoa_upstream_fetch_duration_seconds_count") {
      latency[label("kind")].second += s.value;
    }
  }
  v.endpoints.assign(endpoints.begin(), endpoints.end());
  v.fetches.assign(fetches.begin(), fetches.end());
  for (const auto& [kind, sc] : latency) {
    if (sc.second > 0) v.latency.emplace_back(kind, sc.first / sc.second);
  }
  v.in_flight = static_cast<std::int64_t>(sum(samples, "stoa_fetches_in_flight"));
  v.queued = static_cast<std::int64_t>(sum(samples, "stoa_fetch_queue_depth"));
  return v;
}

void History::add(const std::vector<Sample>& samples, double seconds_since_epoch) {
  Point p;
  p.t = seconds_since_epoch;
  p.requests = sum(samples, "stoa_http_requests_total");
  p.bytes = sum(samples, "stoa_http_response_bytes_total");
  p.misses = sum(samples, "stoa_cache_answers_total", {{"outcome", "miss"}});
  p.in_flight = sum(samples, "stoa_fetches_in_flight");
  const std::lock_guard lock(m_mu);
  m_points.push_back(p);
  while (m_points.size() > m_capacity) m_points.pop_front();
}

std::vector<Series> History::series() const {
  const std::lock_guard lock(m_mu);
  Series req{"requests", "per second", {}};
  Series bytes{"bytes sent", "bytes per second", {}};
  Series misses{"misses", "per second", {}};
  Series flight{"fetches in flight", "", {}};
  for (std::size_t i = 1; i < m_points.size(); ++i) {
    const Point& a = m_points[i - 1];
    const Point& b = m_points[i];
    const double dt = b.t - a.t;
    if (dt <= 0) continue;
    req.points.push_back(std::max(0.0, (b.requests - a.requests) / dt));
    bytes.points.push_back(std::max(0.0, (b.bytes - a.bytes) / dt));
    misses.points.push_back(std::max(0.0, (b.misses - a.misses) / dt));
    flight.points.push_back(b.in_flight);
  }
  return {req, bytes, misses, flight};
}

}  // namespace stoa::web
