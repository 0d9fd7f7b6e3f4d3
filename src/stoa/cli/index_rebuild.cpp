#include "stoa/cli/index_rebuild.hpp"

#include <fstream>
#include <ostream>
#include <sstream>

#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"

namespace stoa::cli {
namespace {

namespace fs = std::filesystem;

std::string first_line_of(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

RebuildReport rebuild_index(const fs::path& data_dir, const std::string& no_sumdb,
                            index::Index& idx, std::ostream& out) {
  RebuildReport report;
  for (auto it = fs::recursive_directory_iterator(data_dir);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto name = it->path().filename().string();
    if (it.depth() == 0 && (name.starts_with('.') || name == "sumdb")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || it->path().extension() != ".info") continue;
    const std::string key = fs::relative(it->path(), data_dir).generic_string();
    const auto at = key.rfind("/@v/");
    if (at == std::string::npos) continue;
    const std::string escaped_version = it->path().stem().string();
    const auto module_path = module::unescape_path(key.substr(0, at));
    const auto version = module::unescape_version(escaped_version);
    if (!module_path || !version) {
      ++report.skipped;
      continue;
    }
    if (module::match_prefix_patterns_folded(no_sumdb, *module_path)) {
      ++report.private_versions;
      continue;
    }
    const fs::path dir = it->path().parent_path();
    index::Entry e;
    e.module = *module_path;
    e.version = *version;
    std::error_code ec;
    if (fs::exists(dir / (escaped_version + ".ziphash"), ec)) {
      e.zip_h1 = first_line_of(dir / (escaped_version + ".ziphash"));
    }
    if (fs::exists(dir / (escaped_version + ".modhash"), ec)) {
      e.mod_h1 = first_line_of(dir / (escaped_version + ".modhash"));
    }
    if (const auto size = fs::file_size(dir / (escaped_version + ".zip"), ec); !ec) {
      e.zip_size = static_cast<std::int64_t>(size);
    }
    const auto mtime = fs::last_write_time(it->path());
    e.stored_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::file_clock::to_sys(mtime).time_since_epoch())
                      .count();
    idx.record(e);
    ++report.versions;
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
