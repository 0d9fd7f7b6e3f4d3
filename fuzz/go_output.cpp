// The go command's output as stoa's direct source reads it: parse_download (`go mod download
// -json`), parse_list (`go list -m -json [-versions]`), list_body over the parsed versions,
// info_body round trips, classify and one_line over the whole input as error text. The go
// command fetched from an arbitrary repository, so all of it is untrusted.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/direct/gocmd.hpp"
#include "stoa/module/semver.hpp"

namespace {

using stoa::fuzz::require;
namespace direct = stoa::direct;
namespace semver = stoa::module::semver;

void check_list_body(const std::string& body) {
  require(body.empty() || body.back() == '\n', "list body does not end with a newline", body);
  std::string prev;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto nl = body.find('\n', pos);
    const std::string v = body.substr(pos, nl - pos);
    require(semver::is_canonical(v) && !semver::is_pseudo(v),
            "list has a non-canonical or pseudo version", v);
    const int c = prev.empty() ? -1 : semver::compare(prev, v);
    require(c < 0 || (c == 0 && prev < v), "list is not sorted and unique", body);
    prev = v;
    pos = nl + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = stoa::fuzz::as_text(data, size);

  if (const auto d = direct::parse_download(text)) {
    (void)d->zip.size();
  }
  if (const auto m = direct::parse_list(text)) {
    check_list_body(direct::list_body(m->versions));
    // What was parsed survives info_body and parsing again.
    const auto again = direct::parse_list(direct::info_body(m->version, m->time));
    require(again.has_value() && again->version == m->version && again->time == m->time,
            "info_body does not round-trip", text);
  }

  (void)direct::classify(text);
  (void)direct::classify(text, "example.com/m", "v1.0.0");

  const std::string line = direct::one_line(text, 200);
  require(line.size() <= 200, "one_line over its bound", line);
  require(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos,
          "one_line has a line break", line);
  for (const char c : line) {
    const auto b = static_cast<unsigned char>(c);
    require(b >= 0x20 && b < 0x7f, "one_line is not printable ASCII", line);
  }
  // A password in a URL of the line that one_line shows never comes out.
  std::string with_secret(text);
  with_secret += "\ngo: fetch https://user:fuzz-canary-secret@h.example/x: 401";
  require(direct::one_line(with_secret).find("fuzz-canary-secret") == std::string::npos,
          "one_line shows a URL password", with_secret);
  return 0;
}
