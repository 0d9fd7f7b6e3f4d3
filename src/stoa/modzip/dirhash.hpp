#pragma once
// golang.org/x/mod/sumdb/dirhash Hash1 over OpenSSL's SHA-256, fed incrementally so that no
// file content is ever held in memory. Not thread-safe per object; no shared state.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace stoa::modzip::detail {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Digest finish();  // the object must not be used afterwards

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> m_ctx;
};

// Hash1: collects (name, SHA-256 of content) per file, then sorts the names bytewise and returns
// "h1:" + base64(SHA-256 of "<hex>  <name>\n" lines). Names must not contain '\n'.
class Hash1 {
 public:
  void add(std::string name, const Digest& content_digest);
  std::string finish();

 private:
  std::vector<std::pair<std::string, Digest>> m_files;
};

std::string to_base64(const Digest& d);

}  // namespace stoa::modzip::detail
