// A vulnerability database as `stoa vulndb import` and a sync read it: the input is a set of
// files, "<name>\n<body>" records separated by "\n--\n" (a body may be gzip: names ending in
// .json.gz), collected as the reader collects a zip's or a directory's files and built into a
// snapshot. Each record's body is also read on its own as an entry, as each index and as gzip.
// Invariants: nothing crashes or reads past its limit; what is accepted is consistent (ids are
// file names without path characters, each document's .json.gz decompresses to its .json).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "check.hpp"
#include "stoa/vulndb/gzip.hpp"
#include "stoa/vulndb/osv.hpp"
#include "stoa/vulndb/reader.hpp"
#include "stoa/vulndb/snapshot.hpp"

namespace {

namespace vulndb = stoa::vulndb;
using stoa::fuzz::require;

constexpr std::size_t k_cap = 1 << 16;

void check_alone(std::string_view body) {
  std::string error;
  if (auto e = vulndb::parse_entry(body, error)) {
    require(vulndb::is_valid_id(e->id), "an entry was accepted with an invalid id", e->id);
  } else {
    require(!error.empty(), "an entry was refused without a reason", body);
  }
  if (auto m = vulndb::parse_modules_index(body, error)) {
    for (const auto& mod : *m) {
      require(!mod.path.empty(), "modules.json accepted an empty path", body);
      for (const auto& v : mod.vulns) require(vulndb::is_valid_id(v.id), "bad id in modules", v.id);
    }
  }
  (void)vulndb::parse_vulns_index(body, error);
  (void)vulndb::parse_db_meta(body, error);
  if (auto out = vulndb::gunzip(body, k_cap, error)) {
    require(out->size() <= k_cap, "gunzip passed its limit", body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = stoa::fuzz::as_text(data, size);
  std::map<std::string, std::string, std::less<>> files;
  while (!in.empty()) {
    const std::size_t end = in.find("\n--\n");
    const std::string_view record = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 4);
    const std::size_t nl = record.find('\n');
    const std::string_view name = record.substr(0, nl);
    const std::string_view body =
        nl == std::string_view::npos ? std::string_view{} : record.substr(nl + 1);
    check_alone(body);
    files.emplace(std::string(name), std::string(body));
  }
  vulndb::Limits limits;
  limits.max_entry = k_cap;
  limits.max_index = k_cap;
  limits.max_total = 4 * k_cap;
  limits.max_entries = 64;
  auto docs = vulndb::collect_documents(files, limits);
  if (!docs.docs) {
    require(!docs.error.empty(), "files were refused without a reason");
    return 0;
  }
  auto built = vulndb::build_snapshot(*docs.docs, nullptr, limits);
  if (!built.snapshot) {
    require(!built.error.empty(), "a database was refused without a reason");
    return 0;
  }
  for (const auto& e : built.snapshot->entries()) {
    require(vulndb::is_valid_id(e.id), "a snapshot holds an invalid id", e.id);
    require(built.snapshot->find("ID/" + e.id) != nullptr, "an entry has no document", e.id);
  }
  for (const auto& [name, json] : built.snapshot->documents()) {
    const auto* f = built.snapshot->find(name);
    std::string error;
    require(f != nullptr && vulndb::gunzip(f->gz, limits.max_index, error) == json,
            "a document's .json.gz is not its .json", name);
  }
  return 0;
}
