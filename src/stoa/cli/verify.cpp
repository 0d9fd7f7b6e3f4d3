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

using VersionKey = std::pair<std::string, std::string>;  // (escaped module, escaped version)

// One run of verify_store: the phases in the order they run, sharing what they found.
class Verifier {
 public:
  Verifier(const VerifyOptions& o, std::ostream& out) : m_o(o), m_st(*o.store), m_out(out) {}

  VerifyReport run() {
    collect();
    for (const auto& f : m_files) check(f);
    if (m_o.quarantine && !m_bad_versions.empty()) quarantine();
    // Derived files: a pure function of the primary files, so rewriting them is always safe.
    add_missing_hashes();
    check_lists();
    summary();
    return m_report;
  }

 private:
  // Every .zip and .mod, and the modules with a .info or a list.
  void collect() {
    for (const std::string& escaped_module : m_st.modules()) {
      for (const std::string& name : m_st.files(escaped_module)) {
        const auto dot = name.rfind('.');
        const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
        if (name == "list" || ext == "info") {
          m_modules.insert(escaped_module);
        } else if (ext == "zip" || ext == "mod") {
          m_files.push_back(
              {escaped_module + "/@v/" + name, escaped_module, name.substr(0, dot), ext});
        }
      }
    }
  }

  void bad(const StoredFile& f, const std::string& label, const std::string& why) {
    ++m_report.bad;
    m_out << "BAD " << label << ": " << why << "\n";
    m_bad_versions.emplace(VersionKey(f.escaped_module, f.escaped_version), why);
  }

  // The file against the zip rules, its recorded hash and the checksum database.
  void check(const StoredFile& f) {
    ++m_report.files;
    const auto module_path = module::unescape_path(f.escaped_module);
    const auto version = module::unescape_version(f.escaped_version);
    const std::string label = (module_path ? *module_path : f.escaped_module) + "@" +
                              (version ? *version : f.escaped_version) + " " + f.ext;
    if (!module_path || !version) {
      return bad(f, label, "not a module path and version stoa would store");
    }
    std::optional<store::Object> object = m_st.get(f.key);
    if (!object) return;  // taken away since it was listed
    const ObjectFile file(m_st, std::move(*object));
    std::string h1;
    if (f.ext == "zip") {
      const modzip::ZipCheck check = modzip::check_zip(file.path(), *module_path, *version);
      if (!check.ok())
        return bad(f, label, "breaks the module zip rules: " + check.problems.front());
      h1 = check.h1;
    } else {
      h1 = modzip::hash_go_mod_file(file.path());
    }
    const std::string recorded_key =
        f.escaped_module + "/@v/" + f.escaped_version + (f.ext == "zip" ? ".ziphash" : ".modhash");
    const std::optional<std::string> recorded = read_text(m_st, recorded_key);
    if (recorded && *recorded != h1) {
      return bad(f, label,
                 "bytes changed since they were stored: recorded " + *recorded + ", now " + h1);
    }
    if (!vouched_for(f, label, *module_path, *version, h1)) return;
    if (!recorded) {
      m_missing_hashes.push_back(
          {recorded_key, h1, label, VersionKey(f.escaped_module, f.escaped_version)});
    }
  }

  // False when the checksum database disagrees or cannot answer (reported); true when it
  // agrees, or is not asked about this module.
  bool vouched_for(const StoredFile& f, const std::string& label, const std::string& module_path,
                   const std::string& version, const std::string& h1) {
    if (m_o.checksum_db == nullptr ||
        module::match_prefix_patterns_folded(m_o.no_sumdb, module_path)) {
      return true;
    }
    sumdb::Verdict v;
    try {
      v = m_o.checksum_db->verify(module_path, version,
                                  f.ext == "zip" ? sumdb::Artifact::zip : sumdb::Artifact::mod, h1);
    } catch (const std::exception& e) {
      v.status = sumdb::Verdict::Status::error;
      v.message = e.what();
    }
    switch (v.status) {
      case sumdb::Verdict::Status::match:
        return true;
      case sumdb::Verdict::Status::mismatch:
        bad(f, label,
            "checksum database " + m_o.checksum_db->name() + " has " + v.expected +
                ", stored bytes hash to " + h1);
        return false;
      case sumdb::Verdict::Status::not_found:
        bad(f, label, "not in checksum database " + m_o.checksum_db->name());
        return false;
      case sumdb::Verdict::Status::error:
        break;
    }
    ++m_report.unverified;
    m_out << "UNVERIFIED " << label << ": " << v.message << "\n";
    // Not recorded as its hash until the database has vouched for these bytes.
    return false;
  }

  void quarantine() {
    const fs::path qroot = m_o.data_dir / ".stoa-quarantine" / utc_stamp();
    for (const auto& [mv, why] : m_bad_versions) {
      const auto& [escaped_module, escaped_version] = mv;
      const fs::path vdir = m_o.data_dir / escaped_module / "@v";
      const fs::path dest = qroot / escaped_module / "@v";
      fs::create_directories(dest);
      for (const char* ext : {".info", ".mod", ".zip", ".ziphash", ".modhash"}) {
        const fs::path p = vdir / (escaped_version + ext);
        if (fs::exists(p)) fs::rename(p, dest / p.filename());
      }
      drop_from_list(vdir, escaped_version);
      ++m_report.quarantined;
      m_out << "QUARANTINED " << escaped_module << "@" << escaped_version << " -> " << dest.string()
            << "\n";
    }
  }

  void add_missing_hashes() {
    for (const MissingHash& m : m_missing_hashes) {
      if (m_o.quarantine && m_bad_versions.count(m.version) != 0) continue;  // moved aside
      ++m_report.stale;
      m_out << "STALE " << m.label << ": no recorded hash (" << m.key << ")\n";
      if (!m_o.repair) continue;
      fsio::TempFile staged = m_st.stage();
      staged.write(m.h1 + "\n");
      (void)m_st.put(m.key, std::move(staged));
      ++m_report.repaired;
      m_out << "REPAIRED " << m.key << "\n";
    }
  }

  void check_lists() {
    for (const std::string& escaped_module : m_modules) {
      // A directory stoa would not store under (its files are reported BAD above) is left alone.
      const auto module_path = module::unescape_path(escaped_module);
      if (!module_path) continue;
      const std::string want = store::list_body(m_st.versions(escaped_module));
      const auto list = read_text(m_st, escaped_module + "/@v/list");
      const std::string have = list ? *list + "\n" : "";
      if (have == want || (have == "\n" && want.empty())) continue;
      ++m_report.stale;
      m_out << "STALE " << *module_path << " list:";
      if (const auto lacks = lines_missing(want, have); !lacks.empty()) m_out << " lacks " << lacks;
      if (const auto extra = lines_missing(have, want); !extra.empty()) m_out << " names " << extra;
      m_out << "\n";
      if (!m_o.repair) continue;
      (void)m_st.repair_list(escaped_module);
      ++m_report.repaired;
      m_out << "REPAIRED " << escaped_module << "/@v/list\n";
    }
  }

  void summary() {
    m_out << m_report.files << " files checked, " << m_report.bad << " bad, " << m_report.unverified
          << " unverified";
    if (m_o.quarantine) m_out << ", " << m_report.quarantined << " versions quarantined";
    m_out << ", " << m_report.stale << " derived files stale";
    if (m_o.repair) m_out << ", " << m_report.repaired << " repaired";
    m_out << "\n";
  }

  const VerifyOptions& m_o;
  store::Store& m_st;
  std::ostream& m_out;
  VerifyReport m_report;
  std::vector<StoredFile> m_files;
  std::set<std::string> m_modules;  // escaped paths of modules with a .info or a list
  std::vector<MissingHash> m_missing_hashes;
  std::map<VersionKey, std::string> m_bad_versions;  // -> why
};

}  // namespace

VerifyReport verify_store(const VerifyOptions& o, std::ostream& out) {
  return Verifier(o, out).run();
}

}  // namespace stoa::cli
