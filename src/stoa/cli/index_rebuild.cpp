#include "stoa/cli/index_rebuild.hpp"

#include <optional>
#include <ostream>

#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"
#include "stoa/proxy/checksums.hpp"

namespace stoa::cli {
namespace {

// The first line of a small stored object (a .ziphash or .modhash); empty when absent.
std::string first_line_of(store::Store& store, const std::string& key) {
  const std::optional<std::string> text = proxy::read_object(store, key);
  return text ? text->substr(0, text->find('\n')) : std::string();
}

}  // namespace

RebuildReport rebuild_index(store::Store& store, const std::string& no_sumdb, index::Index& idx,
                            std::ostream& out) {
  RebuildReport report;
  for (const std::string& escaped_module : store.modules()) {
    const auto module_path = module::unescape_path(escaped_module);
    for (const std::string& escaped_version : store.versions(escaped_module)) {
      const auto version = module::unescape_version(escaped_version);
      if (!module_path || !version) {
        ++report.skipped;
        continue;
      }
      if (module::match_prefix_patterns_folded(no_sumdb, *module_path)) {
        ++report.private_versions;
        continue;
      }
      const std::string base = escaped_module + "/@v/" + escaped_version;
      const std::optional<store::Object> info = store.get(base + ".info");
      if (!info) continue;  // taken away (quarantined) since it was listed
      index::Entry e;
      e.module = *module_path;
      e.version = *version;
      e.zip_h1 = first_line_of(store, base + ".ziphash");
      e.mod_h1 = first_line_of(store, base + ".modhash");
      if (const auto zip = store.get(base + ".zip")) {
        e.zip_size = static_cast<std::int64_t>(zip->size);
      }
      e.stored_ns = info->mtime_unix * 1'000'000'000;
      idx.record(e);
      ++report.versions;
    }
  }
  out << "indexed " << report.versions << " versions";
  if (report.private_versions > 0) {
    out << "; left out " << report.private_versions << " versions of private (no_sumdb) modules";
  }
  if (report.skipped > 0) out << "; skipped " << report.skipped << " unreadable names";
  out << "\n";
  return report;
}

}  // namespace stoa::cli
