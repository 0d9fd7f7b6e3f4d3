// stoa vulndb import: verifies a vulnerability database and installs it as the one served.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/vulndb/repository.hpp"

namespace stoa::cli {

int vulndb_import_command(const RawConfig& cfg, const std::string& source) {
  const std::string& dir = cfg.get("vulndb_dir");
  if (dir.empty()) throw ConfigError("vulndb import: vulndb_dir is empty");
  const vulndb::Repository repo(dir);
  const vulndb::Limits limits;
  std::string error;
  const auto snapshot = repo.import(source, limits, error);
  if (snapshot == nullptr) {
    std::cerr << "stoa: vulndb import: " << source
              << " refused, the database served is unchanged: " << error << "\n";
    return 1;
  }
  const auto loaded = repo.load(limits);
  std::cout << "vulndb: imported " << loaded.snapshot->entries().size() << " entries into " << dir
            << " (snapshot " << loaded.name << ")\n";
  return 0;
}

}  // namespace stoa::cli
