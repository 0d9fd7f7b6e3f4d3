#include "stoa/policy/age.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace stoa::policy {
namespace {

constexpr std::int64_t k_minute = 60;
constexpr std::int64_t k_hour = 60 * k_minute;
constexpr std::int64_t k_day = 24 * k_hour;
constexpr std::int64_t k_week = 7 * k_day;
constexpr std::int64_t k_max_seconds = 3660 * k_day;  // about 10 years

constexpr std::array<std::pair<char, std::int64_t>, 5> k_units = {
    {{'w', k_week}, {'d', k_day}, {'h', k_hour}, {'m', k_minute}, {'s', 1}}};

}  // namespace

std::optional<std::chrono::seconds> parse_age(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || p == text.data() || p == text.data() + text.size()) {
      return std::nullopt;
    }
    if (*text.data() < '0' || *text.data() > '9') return std::nullopt;  // no sign
    text.remove_prefix(static_cast<std::size_t>(p - text.data()));
    std::int64_t unit = 0;
    for (const auto& [c, seconds] : k_units) {
      if (text.front() == c) unit = seconds;
    }
    if (unit == 0) return std::nullopt;
    text.remove_prefix(1);
    if (n > k_max_seconds / unit) return std::nullopt;
    total += n * unit;
    if (total > k_max_seconds) return std::nullopt;
  }
  if (total == 0) return std::nullopt;
  return std::chrono::seconds(total);
}

std::string format_age(std::chrono::seconds age) {
  std::int64_t left = age.count();
  if (left <= 0) return "0s";
  std::string out;
  for (const auto& [c, seconds] : k_units) {
    if (left >= seconds) {
      out += fmt::format("{}{}", left / seconds, c);
      left %= seconds;
    }
  }
  return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{secs - days};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace stoa::policy
