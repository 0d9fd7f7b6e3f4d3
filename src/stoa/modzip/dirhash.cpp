#include "stoa/modzip/dirhash.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <new>
#include <stdexcept>

#include "stoa/text/ascii.hpp"

namespace stoa::modzip::detail {

void Sha256::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  if (!m_ctx) throw std::bad_alloc();
  if (EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex(sha256) failed");
  }
}

void Sha256::update(const void* data, std::size_t size) {
  if (size != 0 && EVP_DigestUpdate(m_ctx.get(), data, size) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

Digest Sha256::finish() {
  Digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(m_ctx.get(), d.data(), &len) != 1 || len != d.size()) {
    throw std::runtime_error("EVP_DigestFinal_ex failed");
  }
  return d;
}

void Hash1::add(std::string name, const Digest& content_digest) {
  m_files.emplace_back(std::move(name), content_digest);
}

std::string Hash1::finish() {
  // std::string compares char_traits<char>-wise, i.e. as unsigned bytes: Go's slices.Sort order.
  std::sort(m_files.begin(), m_files.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Sha256 summary;
  for (const auto& [name, digest] : m_files) {
    summary.update(text::to_hex(digest));
    summary.update("  ");
    summary.update(name);
    summary.update("\n");
  }
  return "h1:" + to_base64(summary.finish());
}

std::string to_base64(const Digest& d) {
  std::array<unsigned char, 4 * ((32 + 2) / 3) + 1> out{};
  const int n = EVP_EncodeBlock(out.data(), d.data(), static_cast<int>(d.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
}

}  // namespace stoa::modzip::detail
