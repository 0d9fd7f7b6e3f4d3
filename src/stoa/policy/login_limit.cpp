#include "stoa/policy/login_limit.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace stoa::policy {

std::string login_limit_key(std::string_view address) {
  if (address.empty() || address.size() > 64) return std::string(address);
  std::string text(address);
  if (text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (const auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);  // zone
  std::array<unsigned char, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return text;  // IPv4, or as given
  static constexpr std::array<unsigned char, 12> k_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::memcmp(v6.data(), k_mapped.data(), k_mapped.size()) == 0) {
    if (inet_ntop(AF_INET, v6.data() + 12, out, sizeof out) == nullptr) return text;
    return out;
  }
  std::memset(v6.data() + 8, 0, 8);
  if (inet_ntop(AF_INET6, v6.data(), out, sizeof out) == nullptr) return text;
  return std::string(out) + "/64";
}

LoginLimit::LoginLimit(LoginLimitOptions options) : m_options(options) {
  if (m_options.max_tracked == 0) m_options.max_tracked = 1;
}

std::optional<std::chrono::seconds> LoginLimit::blocked(std::string_view address,
                                                        Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  const std::string key = login_limit_key(address);
  if (key.empty()) return std::nullopt;
  std::lock_guard lock(m_mutex);
  const auto it = m_entries.find(key);
  if (it == m_entries.end() || it->second.failures < m_options.max_failures) return std::nullopt;
  const auto end = it->second.start + m_options.window;
  if (now >= end) return std::nullopt;
  const auto left = std::chrono::ceil<std::chrono::seconds>(end - now);
  return std::max(left, std::chrono::seconds(1));
}

void LoginLimit::failed(std::string_view address, Clock::time_point now) {
  if (!enabled()) return;
  std::string key = login_limit_key(address);
  if (key.empty()) return;
  std::lock_guard lock(m_mutex);
  if (auto it = m_entries.find(key); it != m_entries.end()) {
    Entry& e = it->second;
    if (now < e.start + m_options.window) {
      ++e.failures;
      return;
    }
    // A new window: this entry now began last.
    e.start = now;
    e.failures = 1;
    m_order.splice(m_order.end(), m_order, e.order);
    return;
  }
  while (m_entries.size() >= m_options.max_tracked) {
    m_entries.erase(m_order.front());
    m_order.pop_front();
  }
  m_order.push_back(key);
  m_entries.emplace(std::move(key), Entry{now, 1, std::prev(m_order.end())});
}

std::size_t LoginLimit::tracked() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

}  // namespace stoa::policy
