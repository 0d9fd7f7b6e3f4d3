#include "stoa/cli/verify.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <variant>
#include <vector>

#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"
#include "stoa/modzip/modzip.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/store/store.hpp"
#include "stoa/sumdb/client.hpp"

namespace stoa::cli {
namespace fs = std::filesystem;
namespace {

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm));
}

// A stored file of a version: "<escaped module>/@v/<escaped version>.<ext>".
struct StoredFile {
  std::string key;
  std::string escaped_module;
  std::string escaped_version;
  std::string ext;  // "zip" or "mod"
};

// Takes `escaped_version` out of "<dir>/list" (atomically replaced).
void drop_from_list(const fs::path& vdir, const std::string& version) {
  const fs::path list = vdir / "list";
  if (!fs::exists(list)) return;
  std::ifstream in(list);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.substr(0, line.find(' ')) != version) kept += line + "\n";
  }
  const fs::path tmp = vdir / ".list.verify-tmp";
  std::ofstream(tmp, std::ios::trunc) << kept;
  fs::rename(tmp, list);
}

// A .zip or .mod that passed every check but has no recorded hash beside it.
struct MissingHash {
  std::string key;  // of the hash file, e.g. "example.com/m/@v/v1.0.0.ziphash"
  std::string h1;
  std::string label;
  std::pair<std::string, std::string> version;  // (escaped module, escaped version)
};

// The text of a small stored object without its trailing newlines; nullopt when absent.
std::optional<std::string> read_text(store::Store& st, const std::string& key) {
  std::optional<std::string> s = proxy::read_object(st, key);
  while (s && !s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
  return s;
}

// A stored object as a file the zip and go.mod checks can open: the object's own descriptor
// (/proc/self/fd/N, no copy) or, for an object held in memory, a staged copy.
class ObjectFile {
 public:
  ObjectFile(store::Store& st, store::Object o) : m_object(std::move(o)) {
    if (const auto* fd = std::get_if<fsio::UniqueFd>(&m_object.body)) {
      m_path = "/proc/self/fd/" + std::to_string(fd->get());
    } else {
      m_copy.emplace(st.stage());
      m_copy->write(*std::get<std::shared_ptr<const std::string>>(m_object.body));
      m_path = m_copy->path().string();
    }
  }
  const std::string& path() const { return m_path; }

 private:
  store::Object m_object;
  std::optional<fsio::TempFile> m_copy;
  std::string m_path;
};

// Lines of `a` not in `b`, comma-separated.
std::string lines_missing(const std::string& a, const std::string& b) {
  std::set<std::string> in_b;
  std::istringstream bs(b);
  for (std::string line; std::getline(bs, line);) in_b.insert(line);
  std::string out;
  std::istringstream as(a);
  for (std::string line; std::getline(as, line);) {
    if (in_b.count(line) != 0) continue;
    if (!out.empty()) out += ", ";
    out += line;
  }
  return out;
}

}  // namespace

VerifyReport verify_store(const VerifyOptions& o, std::ostream& out) {
  VerifyReport report;
  store::Store& st = *o.store;
  std::vector<StoredFile> files;
  std::set<std::string> modules;  // escaped paths of modules with a .info or a list
  std::vector<MissingHash> missing_hashes;
  for (const std::string& escaped_module : st.modules()) {
    for (const std::string& name : st.files(escaped_module)) {
      const auto dot = name.rfind('.');
      const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
      if (name == "list" || ext == "info") {
        modules.insert(escaped_module);
      } else if (ext == "zip" || ext == "mod") {
        files.push_back({escaped_module + "/@v/" + name, escaped_module, name.substr(0, dot), ext});
      }
    }
  }

  std::map<std::pair<std::string, std::string>, std::string>
      bad_versions;  // (module, version) -> why
  for (const auto& f : files) {
    ++report.files;
    const auto module_path = module::unescape_path(f.escaped_module);
    const auto version = module::unescape_version(f.escaped_version);
    const std::string label = (module_path ? *module_path : f.escaped_module) + "@" +
                              (version ? *version : f.escaped_version) + " " + f.ext;
    auto bad = [&](const std::string& why) {
      ++report.bad;
      out << "BAD " << label << ": " << why << "\n";
      bad_versions.emplace(std::make_pair(f.escaped_module, f.escaped_version), why);
    };
    if (!module_path || !version) {
      bad("not a module path and version stoa would store");
      continue;
    }
    std::optional<store::Object> object = st.get(f.key);
    if (!object) continue;  // taken away since it was listed
    const ObjectFile file(st, std::move(*object));
    std::string h1;
    if (f.ext == "zip") {
      const modzip::ZipCheck check = modzip::check_zip(file.path(), *module_path, *version);
      if (!check.ok()) {
        bad("breaks the module zip rules: " + check.problems.front());
        continue;
      }
      h1 = check.h1;
    } else {
      h1 = modzip::hash_go_mod_file(file.path());
    }
    const std::string recorded_key =
        f.escaped_module + "/@v/" + f.escaped_version + (f.ext == "zip" ? ".ziphash" : ".modhash");
    const std::optional<std::string> recorded = read_text(st, recorded_key);
    const bool recorded_exists = recorded.has_value();
    if (recorded && *recorded != h1) {
      bad("bytes changed since they were stored: recorded " + *recorded + ", now " + h1);
      continue;
    }
    if (o.checksum_db != nullptr &&
        !module::match_prefix_patterns_folded(o.no_sumdb, *module_path)) {
      sumdb::Verdict v;
      try {
        v = o.checksum_db->verify(*module_path, *version,
                                  f.ext == "zip" ? sumdb::Artifact::zip : sumdb::Artifact::mod, h1);
      } catch (const std::exception& e) {
        v.status = sumdb::Verdict::Status::error;
        v.message = e.what();
      }
      switch (v.status) {
        case sumdb::Verdict::Status::match:
          break;
        case sumdb::Verdict::Status::mismatch:
          bad("checksum database " + o.checksum_db->name() + " has " + v.expected +
              ", stored bytes hash to " + h1);
          continue;
        case sumdb::Verdict::Status::not_found:
          bad("not in checksum database " + o.checksum_db->name());
          continue;
        case sumdb::Verdict::Status::error:
          ++report.unverified;
          out << "UNVERIFIED " << label << ": " << v.message << "\n";
          // Not recorded as its hash until the database has vouched for these bytes.
          continue;
      }
    }
    if (!recorded_exists) {
      missing_hashes.push_back(
          {recorded_key, h1, label, std::make_pair(f.escaped_module, f.escaped_version)});
    }
  }

  if (o.quarantine && !bad_versions.empty()) {
    const fs::path qroot = o.data_dir / ".stoa-quarantine" / utc_stamp();
    for (const auto& [mv, why] : bad_versions) {
      const auto& [escaped_module, escaped_version] = mv;
      const fs::path vdir = o.data_dir / escaped_module / "@v";
      const fs::path dest = qroot / escaped_module / "@v";
      fs::create_directories(dest);
      for (const char* ext : {".info", ".mod", ".zip", ".ziphash", ".modhash"}) {
        const fs::path p = vdir / (escaped_version + ext);
        if (fs::exists(p)) fs::rename(p, dest / p.filename());
      }
      drop_from_list(vdir, escaped_version);
      ++report.quarantined;
      out << "QUARANTINED " << escaped_module << "@" << escaped_version << " -> " << dest.string()
          << "\n";
    }
  }

  // Derived files: a pure function of the primary files, so rewriting them is always safe.
  store::Store* const store = o.repair ? &st : nullptr;
  for (const MissingHash& m : missing_hashes) {
    if (o.quarantine && bad_versions.count(m.version) != 0) continue;  // moved aside
    ++report.stale;
    out << "STALE " << m.label << ": no recorded hash (" << m.key << ")\n";
    if (store) {
      fsio::TempFile staged = store->stage();
      staged.write(m.h1 + "\n");
      (void)store->put(m.key, std::move(staged));
      ++report.repaired;
      out << "REPAIRED " << m.key << "\n";
    }
  }
  for (const std::string& escaped_module : modules) {
    // A directory stoa would not store under (its files are reported BAD above) is left alone.
    const auto module_path = module::unescape_path(escaped_module);
    if (!module_path) continue;
    const std::string want = store::list_body(st.versions(escaped_module));
    const auto list = read_text(st, escaped_module + "/@v/list");
    const std::string have = list ? *list + "\n" : "";
    if (have == want || (have == "\n" && want.empty())) continue;
    ++report.stale;
    out << "STALE " << *module_path << " list:";
    if (const auto lacks = lines_missing(want, have); !lacks.empty()) out << " lacks " << lacks;
    if (const auto extra = lines_missing(have, want); !extra.empty()) out << " names " << extra;
    out << "\n";
    if (store) {
      (void)store->repair_list(escaped_module);
      ++report.repaired;
      out << "REPAIRED " << escaped_module << "/@v/list\n";
    }
  }

  out << report.files << " files checked, " << report.bad << " bad, " << report.unverified
      << " unverified";
  if (o.quarantine) out << ", " << report.quarantined << " versions quarantined";
  out << ", " << report.stale << " derived files stale";
  if (o.repair) out << ", " << report.repaired << " repaired";
  out << "\n";
  return report;
}

}  // namespace stoa::cli
