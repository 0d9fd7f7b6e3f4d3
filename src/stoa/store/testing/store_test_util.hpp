#pragma once
// Tests only: helpers to put and read objects of any Store backend.

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <variant>

#include "stoa/store/store.hpp"

namespace stoa::store::testing {

// Stages `bytes` and commits them under `key`; the put's result.
inline bool put_bytes(Store& store, const std::string& key, std::string_view bytes) {
  fsio::TempFile staged = store.stage();
  staged.write(bytes);
  return store.put(key, std::move(staged));
}

// Reads `n` bytes at `offset` of an object's body, whichever form it has.
inline std::string read_body(const Object& obj, std::uint64_t offset, std::size_t n) {
  return std::visit(
      [&](const auto& body) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(body)>, fsio::UniqueFd>) {
          std::string out(n, '\0');
          std::size_t done = 0;
          while (done < n) {
            const ssize_t r =
                ::pread(body.get(), out.data() + done, n - done, static_cast<off_t>(offset + done));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw std::system_error(errno, std::generic_category(), "pread");
            if (r == 0) break;
            done += static_cast<std::size_t>(r);
          }
          out.resize(done);
          return out;
        } else {
          if (offset >= body->size()) return {};
          return body->substr(static_cast<std::size_t>(offset), n);
        }
      },
      obj.body);
}

// The whole body, read one byte past the declared size so that a body longer than `size`
// shows up as a mismatch.
inline std::string read_all(const Object& obj) {
  return read_body(obj, 0, static_cast<std::size_t>(obj.size) + 1);
}

}  // namespace stoa::store::testing
