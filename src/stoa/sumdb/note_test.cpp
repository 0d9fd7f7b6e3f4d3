#include "stoa/sumdb/note.hpp"
#include "stoa/text/ascii.hpp"

#include <gtest/gtest.h>

#include <random>

#include "stoa/sumdb/testing/signer.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

using testing::Signer;

// The example from golang.org/x/mod/sumdb/note's documentation.
constexpr std::string_view k_peter_vkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view k_peter_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view k_peter_sig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

std::string peter_note() { return std::string(k_peter_text) + "\n" + std::string(k_peter_sig); }

Verifier peter() {
  auto v = parse_verifier_key(k_peter_vkey);
  if (!v) throw std::runtime_error("PeterNeumann key");
  return *v;
}

TEST(VerifierKey, ParsesTheDocumentedKey) {
  std::string why;
  const auto v = parse_verifier_key(k_peter_vkey, &why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->name(), "PeterNeumann");
  EXPECT_EQ(v->key_hash(), 0xc74f20a3u);
}

TEST(VerifierKey, RejectsMalformedKeys) {
  const Signer s("example.com/db");
  const std::string good = s.vkey();
  ASSERT_TRUE(parse_verifier_key(good));
  const std::string hash = Signer::hex8(s.hash());
  // The key data follows the second '+' (base64 may contain more).
  const std::string key64 = good.substr(good.find('+', good.find('+') + 1) + 1);
  struct Case {
    std::string vkey;
    std::string_view why;
  };
  std::string upper = good;
  for (std::size_t i = good.find('+') + 1; i < good.find('+') + 9; ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  EXPECT_TRUE(parse_verifier_key(upper)) << "hex digits may be upper case";

  const Case cases[] = {
      {"", "malformed verifier id"},
      {"example.com/db", "malformed verifier id"},
      {"example.com/db+" + hash, "malformed verifier id"},
      {"example.com/db+" + hash + "+", "malformed verifier id"},
      {"example.com/db+" + hash.substr(1) + "+" + key64, "malformed verifier id"},
      {"example.com/db+0" + hash + "+" + key64, "malformed verifier id"},
      {"example.com/db+" + hash.substr(0, 7) + "g+" + key64, "malformed verifier id"},
      {"example.com/db+" + hash + "+" + key64.substr(1), "malformed verifier id"},
      {"+" + hash + "+" + key64, "malformed verifier id"},
      {"example com+" + hash + "+" + key64, "malformed verifier id"},
      {"example\xC2\xA0"
       "com+" +
           hash + "+" + key64,
       "malformed verifier id"},  // U+00A0
      {"ex\xFF+" + hash + "+" + key64, "malformed verifier id"},
      {"example.com/other+" + hash + "+" + key64, "invalid verifier hash"},
      {"example.com/db+" + Signer::hex8(s.hash() ^ 1) + "+" + key64, "invalid verifier hash"},
  };
  for (const auto& c : cases) {
    std::string why;
    EXPECT_FALSE(parse_verifier_key(c.vkey, &why)) << c.vkey;
    EXPECT_EQ(why, c.why) << c.vkey;
  }

  // Algorithm byte other than 1, and a key of the wrong length, with a correct hash.
  for (const std::string& keydata :
       {std::string("\x02") + std::string(32, 'k'), std::string("\x01") + std::string(31, 'k'),
        std::string("\x01") + std::string(33, 'k')}) {
    const std::string vkey =
        "n+" + Signer::hex8(key_hash("n", keydata)) + "+" + detail::encode_base64(keydata);
    std::string why;
    EXPECT_FALSE(parse_verifier_key(vkey, &why)) << vkey;
    EXPECT_EQ(why, keydata[0] == '\x02' ? "unknown verifier algorithm" : "malformed verifier id");
  }
}

TEST(KeyName, Validity) {
  EXPECT_TRUE(is_valid_key_name("sum.example.org"));
  EXPECT_TRUE(is_valid_key_name("h\xC3\xA9/x"));
  EXPECT_FALSE(is_valid_key_name(""));
  EXPECT_FALSE(is_valid_key_name("a+b"));
  EXPECT_FALSE(is_valid_key_name("a b"));
  EXPECT_FALSE(
      is_valid_key_name("a\xE3\x80\x80"
                        "b"));  // U+3000
  EXPECT_FALSE(is_valid_key_name("a\xC3"));
}

TEST(OpenNote, VerifiesTheDocumentedNote) {
  const auto opened = open_note(peter_note(), peter());
  ASSERT_EQ(opened.status, NoteStatus::ok) << opened.message;
  EXPECT_EQ(opened.note.text, k_peter_text);
  ASSERT_EQ(opened.note.sigs.size(), 1u);
  EXPECT_EQ(opened.note.sigs[0].name, "PeterNeumann");
  EXPECT_EQ(opened.note.sigs[0].key_hash, 0xc74f20a3u);
  EXPECT_TRUE(opened.note.unverified_sigs.empty());
}

TEST(OpenNote, Table) {
  const Verifier v = peter();
  const std::string text(k_peter_text);
  const std::string sig(k_peter_sig);
  const Signer other("Other");
  const Signer impostor("PeterNeumann");  // same name, another key
  std::string flipped = sig;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  struct Case {
    std::string name;
    std::string msg;
    NoteStatus status;
    std::size_t sigs = 0;
    std::size_t unverified = 0;
  };
  const Case cases[] = {
      {"ok", text + "\n" + sig, NoteStatus::ok, 1, 0},
      {"duplicate known signature", text + "\n" + sig + sig, NoteStatus::ok, 1, 0},
      {"plus an unknown key", text + "\n" + other.signature_line(text) + sig, NoteStatus::ok, 1, 1},
      {"repeated unknown line",
       text + "\n" + sig + other.signature_line(text, 7) + other.signature_line(text, 7),
       NoteStatus::ok, 1, 1},
      {"unknown key only", text + "\n" + other.signature_line(text), NoteStatus::unverified, 0, 1},
      {"same name, other key", text + "\n" + impostor.signature_line(text), NoteStatus::unverified,
       0, 1},
      {"wrong key hash", text + "\n" + impostor.signature_line(text, v.key_hash() ^ 0x100),
       NoteStatus::unverified, 0, 1},
      {"claims the known key", text + "\n" + impostor.signature_line(text, v.key_hash()),
       NoteStatus::invalid_signature},
      {"bad signature", text + "\n" + flipped, NoteStatus::invalid_signature},
      {"signature of other text", "X" + text + "\n" + sig, NoteStatus::invalid_signature},
      {"no blank line", text + sig, NoteStatus::malformed},
      {"no signatures", text + "\n", NoteStatus::malformed},
      {"text without final newline",
       text.substr(0, text.size() - 1) + "\n" + impostor.signature_line(text),
       NoteStatus::malformed},
      {"signature without newline", text + "\n" + sig.substr(0, sig.size() - 1),
       NoteStatus::malformed},
      {"hyphen instead of em dash", text + "\n- " + sig.substr(4), NoteStatus::malformed},
      {"no space after dash", text + "\n\xE2\x80\x94" + sig.substr(4), NoteStatus::malformed},
      {"empty signature", text + "\n\xE2\x80\x94 PeterNeumann \n", NoteStatus::malformed},
      {"short signature", text + "\n\xE2\x80\x94 PeterNeumann AAAAAA==\n", NoteStatus::malformed},
      {"bad base64", text + "\n\xE2\x80\x94 PeterNeumann x08go!ZJ\n", NoteStatus::malformed},
      {"name with plus", text + "\n\xE2\x80\x94 Peter+Neumann " + sig.substr(17),
       NoteStatus::malformed},
      {"two spaces", text + "\n\xE2\x80\x94 PeterNeumann  " + sig.substr(17),
       NoteStatus::malformed},
      {"control character", "a\tb\n\n" + sig, NoteStatus::malformed},
      {"carriage return", text + "\n" + sig.substr(0, sig.size() - 1) + "\r\n",
       NoteStatus::malformed},
      {"invalid UTF-8", "a\xFF\n\n" + sig, NoteStatus::malformed},
      {"NUL", std::string("a\0\n\n", 4) + sig, NoteStatus::malformed},
      // The last blank line starts the signatures: the first signature line becomes signed text.
      {"blank line in signatures", text + "\n" + sig + "\n" + sig, NoteStatus::invalid_signature},
      {"empty", "", NoteStatus::malformed},
      {"only newlines", "\n\n", NoteStatus::malformed},
      {"huge", std::string(k_max_note_bytes, 'a') + "\n\n" + sig, NoteStatus::malformed},
  };
  for (const auto& c : cases) {
    const auto opened = open_note(c.msg, v);
    EXPECT_EQ(opened.status, c.status) << c.name << ": " << opened.message;
    if (opened.status == NoteStatus::ok || opened.status == NoteStatus::unverified) {
      EXPECT_EQ(opened.note.sigs.size(), c.sigs) << c.name;
      EXPECT_EQ(opened.note.unverified_sigs.size(), c.unverified) << c.name;
    }
    if (opened.status != NoteStatus::ok) {
      EXPECT_FALSE(opened.message.empty()) << c.name;
    }
  }
}

TEST(OpenNote, SignatureLineLimit) {
  const Signer other("Other");
  const std::string text = "hello\n";
  std::string lines;
  for (int i = 0; i < k_max_note_signatures; ++i) {
    lines += other.signature_line(text, static_cast<std::uint32_t>(i));
  }
  const Verifier v = peter();
  EXPECT_EQ(open_note(text + "\n" + lines, v).status, NoteStatus::unverified);
  EXPECT_EQ(open_note(text + "\n" + lines + other.signature_line(text, 999), v).status,
            NoteStatus::malformed);
}

TEST(OpenNote, SignedTextIsExactlyTheTextBeforeTheLastBlankLine) {
  const Signer s("db");
  const auto v = parse_verifier_key(s.vkey());
  ASSERT_TRUE(v);
  // A text with a blank line inside: the signature block starts after the last one.
  const std::string text = "a\n\nb\n";
  const auto opened = open_note(s.sign(text), *v);
  ASSERT_EQ(opened.status, NoteStatus::ok) << opened.message;
  EXPECT_EQ(opened.note.text, text);
}

// Random bytes and mutations of a good note: never crash, never accept a changed note.
TEST(OpenNote, SurvivesGarbage) {
  std::mt19937 rng(12345);
  const Verifier v = peter();
  const std::string good = peter_note();
  for (int i = 0; i < 20000; ++i) {
    std::string msg = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (msg.size() + 1);
      switch (rng() % 4) {
        case 0:
          if (at < msg.size()) msg[at] = static_cast<char>(rng());
          break;
        case 1:
          msg.insert(at, 1, static_cast<char>(rng()));
          break;
        case 2:
          if (at < msg.size()) msg.erase(at, 1 + rng() % 8);
          break;
        default:
          msg.resize(at);
      }
    }
    const auto opened = open_note(msg, v);
    if (opened.status == NoteStatus::ok) {
      // Only changes to what is not signed can keep it valid: dropping a duplicate line, say.
      EXPECT_EQ(opened.note.text, k_peter_text) << stoa::text::to_hex(msg);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    std::string msg(rng() % 300, '\0');
    for (auto& c : msg) c = static_cast<char>(rng() % 4 == 0 ? '\n' : rng());
    (void)open_note(msg, v);
    (void)parse_verifier_key(msg);
  }
}

}  // namespace
}  // namespace stoa::sumdb
