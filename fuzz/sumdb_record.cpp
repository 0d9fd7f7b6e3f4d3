// What a checksum database answers to a lookup ("<id>\n<record text>\n<signed tree note>"), the
// tree head text inside its note, and the go.sum lines of the record text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/sumdb/gosum.hpp"
#include "stoa/sumdb/tlog.hpp"

namespace {

using stoa::fuzz::require;
namespace sumdb = stoa::sumdb;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_tree(std::string_view text) {
  const auto tree = sumdb::parse_tree(text);
  if (!tree) return;
  require(tree->n >= 0, "a parsed tree has a negative size", text);
  // Not text.starts_with(formatted): like Go's base64.StdEncoding, the hash may be given with
  // non-zero trailing bits ("...q/=" for "...q8="), which format_tree writes canonically.
  const std::string formatted = sumdb::format_tree(*tree);
  require(sumdb::parse_tree(formatted) == tree, "format_tree does not parse back", formatted);
}

void check_go_sum_lines(std::string_view text) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto l = sumdb::parse_go_sum_line(line);
    if (!l) continue;
    require(!l->module_path.empty() && !l->version.empty() && !l->hash.empty(),
            "a go.sum line has an empty field", line);
    const std::string again = std::string(l->module_path) + " " + std::string(l->version) +
                              (l->go_mod ? "/go.mod " : " ") + std::string(l->hash);
    require(again == line, "a go.sum line does not re-assemble to itself", line);
    const bool h1 = sumdb::is_h1(l->hash);
    require(!h1 || (l->hash.size() == 47 && l->hash.starts_with("h1:")),
            "is_h1 accepted a malformed hash", l->hash);
    require(sumdb::h1_equal(l->hash, l->hash) == h1, "h1_equal(h, h) != is_h1(h)", l->hash);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto msg = stoa::fuzz::as_text(data, size);
  check_tree(msg);
  check_go_sum_lines(msg);

  if (const auto formatted = sumdb::format_record(7, msg)) {
    require(sumdb::is_valid_record_text(msg), "format_record accepted invalid record text", msg);
  }
  const auto r = sumdb::parse_record(msg);
  if (!r) return 0;
  require(inside(r->text, msg) && inside(r->rest, msg), "record views point outside the input",
          msg);
  require(sumdb::is_valid_record_text(r->text), "a parsed record's text is not valid", r->text);
  const auto formatted = sumdb::format_record(r->id, r->text);
  require(formatted.has_value(), "format_record refuses a parsed record", r->text);
  const std::string reformatted = *formatted + std::string(r->rest);  // `again` views into it
  const auto again = sumdb::parse_record(reformatted);
  require(again && again->id == r->id && again->text == r->text && again->rest == r->rest,
          "format_record does not parse back", *formatted);
  check_tree(r->rest);
  check_go_sum_lines(r->text);
  return 0;
}
