// Signed notes from a checksum database (tree heads, the tail of every lookup answer) and verifier
// keys (configuration). open_note runs with the fixed key whose notes corpus/sumdb_note holds
// (fuzz/make_corpus.py signs them), so that the fuzzer starts from notes that verify.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/sumdb/note.hpp"

namespace {

using stoa::fuzz::require;
namespace sumdb = stoa::sumdb;

// fuzz/make_corpus.py's key; that script says so if the two ever disagree.
constexpr std::string_view k_verifier_key =
    "stoa.fuzz.example+b88f3a7f+ARCDRXXvT1DIqoc7qihTxGRG2Suq0YrH61uuCVshLTg5";

const sumdb::Verifier& known_verifier() {
  static const sumdb::Verifier verifier = [] {
    auto v = sumdb::parse_verifier_key(k_verifier_key);
    if (!v) stoa::fuzz::fail("the fixed verifier key does not parse", k_verifier_key);
    return *v;
  }();
  return verifier;
}

void check_opened(std::string_view msg, const sumdb::OpenedNote& opened,
                  const sumdb::Verifier& known) {
  const auto& note = opened.note;
  switch (opened.status) {
    case sumdb::NoteStatus::ok:
      require(opened.message.empty(), "an ok note has a message", opened.message);
      require(!note.sigs.empty(), "an ok note has no verified signature", msg);
      for (const auto& sig : note.sigs) {
        require(sig.name == known.name() && sig.key_hash == known.key_hash(),
                "a verified signature is not by the known key", sig.name);
      }
      break;
    case sumdb::NoteStatus::unverified:
      require(note.sigs.empty(), "an unverified note has verified signatures", msg);
      require(!note.unverified_sigs.empty(), "an unverified note has no signature", msg);
      break;
    case sumdb::NoteStatus::malformed:
    case sumdb::NoteStatus::invalid_signature:
      require(note.text.empty() && note.sigs.empty() && note.unverified_sigs.empty(),
              "a refused note is not empty", msg);
      break;
  }
  if (opened.status != sumdb::NoteStatus::ok) {
    require(!opened.message.empty() && stoa::fuzz::printable_line(opened.message),
            "the message is not one line of printable ASCII", opened.message);
  }
  if (opened.status == sumdb::NoteStatus::ok || opened.status == sumdb::NoteStatus::unverified) {
    require(!note.text.empty() && note.text.back() == '\n', "note text does not end in '\\n'",
            note.text);
    require(msg.starts_with(note.text + "\n"), "note text is not the head of the note", note.text);
    require(msg.size() <= sumdb::k_max_note_bytes, "a note over k_max_note_bytes is accepted");
    const auto sig_count = note.sigs.size() + note.unverified_sigs.size();
    require(sig_count <= static_cast<std::size_t>(sumdb::k_max_note_signatures),
            "more signatures than k_max_note_signatures", msg);
    for (const auto* sigs : {&note.sigs, &note.unverified_sigs}) {
      for (const auto& sig : *sigs) {
        require(sumdb::is_valid_key_name(sig.name), "a signature has an invalid key name",
                sig.name);
        require(msg.find(sig.base64) != std::string_view::npos,
                "a signature's base64 is not in the note", sig.base64);
      }
    }
  }
}

void check_verifier_key(std::string_view vkey) {
  std::string error;
  const auto v = sumdb::parse_verifier_key(vkey, &error);
  if (!v) {
    require(!error.empty() && stoa::fuzz::printable_line(error),
            "the verifier key error is not one line of printable ASCII", error);
    return;
  }
  require(sumdb::is_valid_key_name(v->name()), "a parsed key has an invalid name", v->name());
  require(vkey.starts_with(v->name() + "+"), "a parsed key's name is not its prefix", vkey);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto msg = stoa::fuzz::as_text(data, size);
  const auto& known = known_verifier();
  check_opened(msg, sumdb::open_note(msg, known), known);
  check_verifier_key(msg);
  return 0;
}
