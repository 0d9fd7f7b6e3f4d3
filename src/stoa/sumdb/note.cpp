#include "stoa/sumdb/note.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <set>
#include <utility>

#include "stoa/module/path.hpp"
#include "stoa/sumdb/text.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::sumdb {
namespace {

constexpr std::uint8_t k_alg_ed25519 = 1;
constexpr std::size_t k_ed25519_key_bytes = 32;
constexpr std::string_view k_sig_prefix = "\xE2\x80\x94 ";  // U+2014 em dash, space

struct FreeMdCtx {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

std::uint32_t big_endian32(std::string_view b) {
  return (std::uint32_t{static_cast<unsigned char>(b[0])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(b[1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(b[2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(b[3])};
}

std::string hex8(std::uint32_t v) {
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = "0123456789abcdef"[v & 15];
  return s;
}

std::optional<std::uint32_t> parse_hex8(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (const char c : s) {
    const int d = text::hex_value(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  return v;
}

// strings.Cut(s, sep) on one byte.
std::pair<std::string_view, std::string_view> cut(std::string_view s, char sep) {
  const auto at = s.find(sep);
  if (at == std::string_view::npos) return {s, {}};
  return {s.substr(0, at), s.substr(at + 1)};
}

OpenedNote fail(NoteStatus status, std::string message) {
  OpenedNote r;
  r.status = status;
  r.message = std::move(message);
  return r;
}

}  // namespace

void Verifier::FreeKey::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

bool Verifier::verify(std::string_view message, std::string_view signature) const {
  if (!m_key || signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, FreeMdCtx> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, m_key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::uint32_t key_hash(std::string_view name, std::string_view keydata) {
  std::string input;
  input.reserve(name.size() + 1 + keydata.size());
  input.append(name).append(1, '\n').append(keydata);
  std::array<unsigned char, SHA256_DIGEST_LENGTH> sum{};
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), sum.data());
  return big_endian32(std::string_view(reinterpret_cast<const char*>(sum.data()), 4));
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || !detail::valid_utf8(name)) return false;
  for (std::size_t i = 0; i < name.size();) {
    const auto r = detail::decode_rune(name, i);
    if (r.value == U'+' || detail::is_space(r.value)) return false;
    i += r.size;
  }
  return true;
}

std::optional<Verifier> parse_verifier_key(std::string_view vkey, std::string* error) {
  const auto [name, rest] = cut(vkey, '+');
  const auto [hash16, key64] = cut(rest, '+');
  const auto hash = parse_hex8(hash16);
  const auto key = detail::decode_base64(key64);
  if (!hash || !key || !is_valid_key_name(name) || key->empty()) {
    set_error(error, "malformed verifier id");
    return std::nullopt;
  }
  if (*hash != key_hash(name, *key)) {
    set_error(error, "invalid verifier hash");
    return std::nullopt;
  }
  if (static_cast<unsigned char>((*key)[0]) != k_alg_ed25519) {
    set_error(error, "unknown verifier algorithm");
    return std::nullopt;
  }
  if (key->size() != 1 + k_ed25519_key_bytes) {
    set_error(error, "malformed verifier id");
    return std::nullopt;
  }
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key->data() + 1),
      k_ed25519_key_bytes);
  if (raw == nullptr) {
    set_error(error, "invalid Ed25519 public key");
    return std::nullopt;
  }
  Verifier v;
  v.m_key = std::shared_ptr<evp_pkey_st>(raw, Verifier::FreeKey{});
  v.m_name = std::string(name);
  v.m_hash = *hash;
  return v;
}

OpenedNote open_note(std::string_view msg, const Verifier& known) {
  if (msg.size() > k_max_note_bytes) return fail(NoteStatus::malformed, "malformed note");

  // Valid UTF-8 with no ASCII control characters but '\n'.
  for (std::size_t i = 0; i < msg.size();) {
    const auto r = detail::decode_rune(msg, i);
    if ((r.value < 0x20 && r.value != U'\n') || (r.value == detail::k_rune_error && r.size == 1)) {
      return fail(NoteStatus::malformed, "malformed note");
    }
    i += r.size;
  }

  // The signature block follows the last blank line.
  const auto split = msg.rfind("\n\n");
  if (split == std::string_view::npos) return fail(NoteStatus::malformed, "malformed note");
  const std::string_view text = msg.substr(0, split + 1);
  std::string_view sigs = msg.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return fail(NoteStatus::malformed, "malformed note");

  OpenedNote result;
  result.note.text = std::string(text);
  bool seen_known = false;
  std::set<std::string_view> seen_unverified;
  int count = 0;
  while (!sigs.empty()) {
    // sigs ends in '\n', so there is always one.
    const auto nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);

    if (line.substr(0, k_sig_prefix.size()) != k_sig_prefix) {
      return fail(NoteStatus::malformed, "malformed note");
    }
    line.remove_prefix(k_sig_prefix.size());
    const auto [name, b64] = cut(line, ' ');
    const auto sig = detail::decode_base64(b64);
    if (!sig || !is_valid_key_name(name) || b64.empty() || sig->size() < 5) {
      return fail(NoteStatus::malformed, "malformed note");
    }
    const std::uint32_t hash = big_endian32(*sig);
    if (++count > k_max_note_signatures) return fail(NoteStatus::malformed, "malformed note");

    if (name != known.name() || hash != known.key_hash()) {
      if (!seen_unverified.insert(line).second) continue;
      result.note.unverified_sigs.push_back({std::string(name), hash, std::string(b64)});
      continue;
    }
    if (seen_known) continue;
    seen_known = true;
    if (!known.verify(text, std::string_view(*sig).substr(4))) {
      return fail(NoteStatus::invalid_signature,
                  "invalid signature for key " + module::excerpt(name) + "+" + hex8(hash));
    }
    result.note.sigs.push_back({std::string(name), hash, std::string(b64)});
  }

  if (result.note.sigs.empty()) {
    result.status = NoteStatus::unverified;
    result.message = "note has no verifiable signatures";
    if (!result.note.unverified_sigs.empty()) {
      const auto& s = result.note.unverified_sigs.front();
      result.message +=
          " (signed by unknown key " + module::excerpt(s.name) + "+" + hex8(s.key_hash) + ")";
    }
    return result;
  }
  result.status = NoteStatus::ok;
  return result;
}

}  // namespace stoa::sumdb
