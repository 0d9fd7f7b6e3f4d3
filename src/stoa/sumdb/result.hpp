#pragma once
// Result<T>: a value or the reason there is none (std::expected is C++23). Used where a
// verification can fail on data from the network: the failure is a value, not an exception.

#include <string>
#include <utility>
#include <variant>

namespace stoa::sumdb {

// Why a verification step failed: one line, printable, meant for logs and error bodies.
struct Failure {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}            // NOLINT: implicit
  Result(Failure failure) : m_v(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Only when ok().
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Only when !ok().
  const std::string& error() const { return std::get<1>(m_v).message; }
  Failure failure() const { return std::get<1>(m_v); }

 private:
  std::variant<T, Failure> m_v;
};

}  // namespace stoa::sumdb
