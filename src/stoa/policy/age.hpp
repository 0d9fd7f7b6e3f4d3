#pragma once
// Ages of a minimum release age (a rule's `min_age`, a client's /cooldown/<age>/ prefix):
// "36h", "7d", "2w", "90m", "1w3d"; a whole number before each unit (s, m, h, d, w), at most
// 10 years in all. Pure, never throws.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::policy {

// nullopt when `text` is not such an age (or is zero, or longer than 10 years).
std::optional<std::chrono::seconds> parse_age(std::string_view text);

// The shortest form in the units above: 604800 s -> "7d", 129600 s -> "1d12h".
std::string format_age(std::chrono::seconds age);

// `t` as RFC 3339 in UTC to the second: "2026-12-07T22:08:09Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace stoa::policy
