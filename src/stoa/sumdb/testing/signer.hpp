#pragma once
// Tests only: an Ed25519 note signer over OpenSSL, producing x/mod-format verifier keys and
// signature lines, so that unit tests can sign any text.

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "stoa/sumdb/note.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb::testing {

class Signer {
 public:
  explicit Signer(std::string name) : m_name(std::move(name)) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (key == nullptr) throw std::runtime_error("Ed25519 keygen failed");
    m_key.reset(key);
    std::array<unsigned char, 32> pub{};
    std::size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != 32) {
      throw std::runtime_error("Ed25519 public key");
    }
    m_keydata = std::string(1, '\x01') + std::string(reinterpret_cast<const char*>(pub.data()), 32);
    m_hash = key_hash(m_name, m_keydata);
  }

  const std::string& name() const { return m_name; }
  std::uint32_t hash() const { return m_hash; }
  std::string vkey() const {
    return m_name + "+" + hex8(m_hash) + "+" + detail::encode_base64(m_keydata);
  }

  std::string sign_raw(std::string_view msg) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::array<unsigned char, 64> sig{};
    std::size_t len = sig.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, m_key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len,
                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1) {
      throw std::runtime_error("Ed25519 sign failed");
    }
    return std::string(reinterpret_cast<const char*>(sig.data()), len);
  }

  // "— <name> <base64(hash + signature)>\n" for `text`, with `hash` claimed.
  std::string signature_line(std::string_view text, std::uint32_t claimed) const {
    std::string raw;
    for (int shift = 24; shift >= 0; shift -= 8)
      raw += static_cast<char>((claimed >> shift) & 0xFF);
    raw += sign_raw(text);
    return "\xE2\x80\x94 " + m_name + " " + detail::encode_base64(raw) + "\n";
  }
  std::string signature_line(std::string_view text) const { return signature_line(text, m_hash); }

  // A complete signed note.
  std::string sign(std::string_view text) const {
    return std::string(text) + "\n" + signature_line(text);
  }

  static std::string hex8(std::uint32_t v) {
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4)
      s[static_cast<std::size_t>(i)] = "0123456789abcdef"[v & 15];
    return s;
  }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::string m_name;
  std::string m_keydata;
  std::uint32_t m_hash = 0;
  std::unique_ptr<EVP_PKEY, Free> m_key;
};

}  // namespace stoa::sumdb::testing
