#pragma once
// Signed notes (golang.org/x/mod/sumdb/note): verifier keys and note verification with Ed25519
// over OpenSSL. Differentially tested against x/mod (differential_test.cpp).
//
// A signed note is a text ending in '\n', a blank line, then one or more signature lines
// "— <name> <base64(4-byte big-endian key hash + signature)>\n" (U+2014 em dash). The whole note
// must be valid UTF-8 without control characters other than '\n'.
//
// The parsers take untrusted bytes: they never throw (except std::bad_alloc) and never read
// outside their input. Thread-safe: Verifier is an immutable value, safe to share.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace stoa::sumdb {

// stoa's limit on a whole signed note (x/mod has none; a tree note is about 200 bytes).
inline constexpr std::size_t k_max_note_bytes = 1'000'000;
// x/mod's limit on signature lines.
inline constexpr int k_max_note_signatures = 100;

// A server's public key: "<name>+<hash>+<keydata>".
class Verifier {
 public:
  const std::string& name() const { return m_name; }
  std::uint32_t key_hash() const { return m_hash; }
  // Ed25519 verification of `signature` (64 bytes) over `message`. False on any failure.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  friend std::optional<Verifier> parse_verifier_key(std::string_view, std::string*);
  struct FreeKey {
    void operator()(evp_pkey_st* key) const;
  };
  std::string m_name;
  std::uint32_t m_hash = 0;
  std::shared_ptr<evp_pkey_st> m_key;  // immutable after construction
};

// note.NewVerifier: `vkey` is "<name>+<8 hex digits>+<base64 keydata>", keydata is the algorithm
// byte 0x01 (Ed25519) and a 32-byte public key, and the hash is the first 4 bytes (big-endian) of
// SHA-256(name + "\n" + keydata). The name is non-empty UTF-8 without Unicode spaces or '+'.
// nullopt on any violation, with a one-line reason in `*error` when given.
std::optional<Verifier> parse_verifier_key(std::string_view vkey, std::string* error = nullptr);

// The key hash x/mod computes for a name and encoded key (algorithm byte + key).
std::uint32_t key_hash(std::string_view name, std::string_view keydata);

// note.isValidName.
bool is_valid_key_name(std::string_view name);

struct Signature {
  std::string name;
  std::uint32_t key_hash = 0;
  std::string base64;  // as it appears in the note
};

struct Note {
  std::string text;                        // including its final '\n'
  std::vector<Signature> sigs;             // verified by the known key
  std::vector<Signature> unverified_sigs;  // by keys we do not know (not checked)
};

enum class NoteStatus : std::uint8_t {
  ok,                 // at least one signature verified by the known key
  malformed,          // not a signed note (x/mod's "malformed note")
  unverified,         // well-formed but no signature by the known key
  invalid_signature,  // a signature line claims the known key and does not verify
};

struct OpenedNote {
  NoteStatus status = NoteStatus::malformed;
  Note note;            // filled for ok and unverified, empty otherwise
  std::string message;  // empty for ok; otherwise x/mod's message, one printable line
};

// note.Open with a single known verifier. A duplicate signature line by the known key is checked
// once; repeated identical unknown lines are kept once. More than k_max_note_signatures lines,
// or a note over k_max_note_bytes (a stoa limit), is malformed.
OpenedNote open_note(std::string_view msg, const Verifier& known);

}  // namespace stoa::sumdb
