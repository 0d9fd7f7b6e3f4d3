// Differential tests against golang.org/x/mod: tests/oracle/ziporacle (built by CMake into
// $STOA_BINARY_DIR/oracle/ziporacle) writes a corpus of zips with the go command's verdict on
// each (zip.CheckZip, dirhash.HashZip, zip.Unzip) and answers name and Unicode questions.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "stoa/modzip/modzip.hpp"
#include "stoa/modzip/names.hpp"
#include "stoa/modzip/unicode.hpp"

namespace stoa::modzip {
namespace {

namespace fs = std::filesystem;

// $STOA_BINARY_DIR/oracle/ziporacle, else the path CMake compiled in.
std::string oracle_path() {
  if (const char* dir = std::getenv("STOA_BINARY_DIR")) {
    return (fs::path(dir) / "oracle" / "ziporacle").string();
  }
  return STOA_ZIPORACLE;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stoa-ziporacle-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category());
    m_path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

struct PipeClose {
  void operator()(std::FILE* f) const { ::pclose(f); }
};

// Runs the oracle with `args` (no shell metacharacters) and returns its standard output.
std::string run_oracle(const std::string& args) {
  const std::string oracle = oracle_path();
  if (!fs::exists(oracle)) {
    ADD_FAILURE() << oracle << " does not exist (build target stoa_ziporacle)";
    return {};
  }
  const std::string cmd = "'" + oracle + "' " + args;
  std::unique_ptr<std::FILE, PipeClose> pipe(::popen(cmd.c_str(), "r"));
  if (!pipe) {
    ADD_FAILURE() << "popen " << cmd;
    return {};
  }
  std::string out;
  std::array<char, 65536> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0;) {
    out.append(buf.data(), n);
  }
  const int status = ::pclose(pipe.release());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << " failed: " << status;
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t at; (at = line.find(sep, start)) != std::string::npos; start = at + 1) {
    fields.push_back(line.substr(start, at - start));
  }
  fields.push_back(line.substr(start));
  return fields;
}

std::string unhex(const std::string& h) {
  if (h == "-") return {};
  std::string s;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    s += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += "\n    " + p;
  return s;
}

TEST(ZipOracle, CorpusVerdictsAndHashesMatch) {
  TempDir dir;
  run_oracle("gen '" + dir.path().string() + "'");
  std::ifstream manifest(dir.path() / "manifest.tsv");
  ASSERT_TRUE(manifest.good()) << "no manifest from the oracle";

  int zips = 0;
  int accepted = 0;
  int go_mods = 0;
  for (std::string line; std::getline(manifest, line);) {
    const std::vector<std::string> f = split(line, '\t');
    if (f[0] == "gomod") {
      ASSERT_EQ(f.size(), 3u) << line;
      const fs::path file = dir.path() / f[1];
      EXPECT_EQ(hash_go_mod(read_file(file)), f[2]) << f[1];
      EXPECT_EQ(hash_go_mod_file(file.string()), f[2]) << f[1];
      ++go_mods;
      continue;
    }
    ASSERT_EQ(f.size(), 7u) << line;
    ASSERT_EQ(f[0], "zip");
    const std::string& file = f[1];
    const bool want_ok = f[4] == "ok";
    const ZipCheck got = check_zip((dir.path() / file).string(), f[2], f[3]);
    ++zips;
    accepted += want_ok ? 1 : 0;
    if (want_ok) {
      EXPECT_TRUE(got.ok()) << file << ": x/mod accepts it, stoa says:" << joined(got.problems);
      EXPECT_EQ(got.h1, f[5]) << file;
    } else {
      EXPECT_FALSE(got.ok()) << file << ": stoa accepts it, x/mod says: " << f[6];
    }
  }
  // The corpus really exercised both verdicts.
  EXPECT_GE(zips, 100);
  EXPECT_GE(accepted, 30);
  EXPECT_GE(zips - accepted, 50);
  EXPECT_GE(go_mods, 5);
}

// A file for one zip at a time (memfd: nothing written to disk), given to check_zip by its
// /proc/self/fd path.
class ScratchFile {
 public:
  ScratchFile() : m_fd(::memfd_create("stoa-zip-differential", MFD_CLOEXEC)) {
    if (m_fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
    m_path = "/proc/self/fd/" + std::to_string(m_fd);
  }
  ~ScratchFile() { ::close(m_fd); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(std::string_view data) {
    if (::ftruncate(m_fd, 0) != 0) throw std::system_error(errno, std::generic_category());
    for (std::size_t done = 0; done < data.size();) {
      const ssize_t n =
          ::pwrite(m_fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
      if (n <= 0) throw std::system_error(errno, std::generic_category(), "pwrite");
      done += static_cast<std::size_t>(n);
    }
    return m_path;
  }

 private:
  int m_fd;
  std::string m_path;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// The oracle's generated adversarial zips (tests/oracle/ziporacle/adversarial.go: real-looking
// module zips with Unicode Path and Comment extra fields, local headers that disagree with the
// central directory, data descriptors, ZIP64 fields and records, duplicate and case-colliding
// names, prepended bytes, several end records, non-UTF-8 names, lying sizes, CRCs, counts and
// offsets, then raw byte mutations): stoa's verdict and h1: must equal the go command's on every
// one. STOA_ZIP_COUNT and STOA_ZIP_SEED run other sets (the default is fixed: a failure
// reproduces). A disagreeing zip is kept under $TMPDIR for the report.
TEST(ZipOracle, AdversarialZipsMatch) {
  const int count = env_int("STOA_ZIP_COUNT", 10000);
  const int seed = env_int("STOA_ZIP_SEED", 1);
  TempDir dir;
  run_oracle("adversarial '" + dir.path().string() + "' " + std::to_string(count) + " " +
             std::to_string(seed));
  const std::string zips = read_file(dir.path() / "zips.bin");
  std::ifstream manifest(dir.path() / "manifest.tsv");
  ASSERT_TRUE(manifest.good()) << "no manifest from the oracle";

  ScratchFile scratch;
  int compared = 0;
  int accepted = 0;
  int disagreements = 0;
  std::map<std::string, std::pair<int, int>> by_label;  // mutation -> (accepted, refused)
  for (std::string line; std::getline(manifest, line);) {
    const std::vector<std::string> f = split(line, '\t');
    ASSERT_EQ(f.size(), 9u) << line;
    const std::string& label = f[1];
    const bool want_ok = f[4] == "ok";
    const std::size_t offset = std::stoull(f[7]);
    const std::size_t length = std::stoull(f[8]);
    ASSERT_LE(offset + length, zips.size()) << label;
    const std::string_view zip = std::string_view(zips).substr(offset, length);
    const ZipCheck got = check_zip(scratch.write(zip), f[2], f[3]);
    ++compared;
    accepted += want_ok ? 1 : 0;
    for (const std::string& m : split(label.substr(label.find('-', 4) + 1), '+')) {
      auto& [ok, refused] = by_label[m];
      (want_ok ? ok : refused) += 1;
    }
    const bool agree = got.ok() == want_ok && (!want_ok || got.h1 == f[5]);
    if (agree) continue;
    if (++disagreements <= 20) {
      const fs::path keep = fs::temp_directory_path() / ("stoa-zip-disagreement-" + label + ".zip");
      std::ofstream(keep, std::ios::binary) << zip;
      ADD_FAILURE() << label << " (kept as " << keep.string()
                    << ")\n  x/mod: " << (want_ok ? f[5] : f[6])
                    << "\n  stoa:  " << (got.ok() ? got.h1 : joined(got.problems));
    }
  }
  EXPECT_EQ(disagreements, 0);
  EXPECT_EQ(compared, count);
  if (count < 10000) return;
  // The set really exercised both verdicts, in every category the generator has.
  EXPECT_GE(accepted, count / 5);
  EXPECT_GE(count - accepted, count / 5);
  for (const char* m : {"unicode-path", "unicode-comment", "local-name-differs", "local-extra",
                        "local-fields-differ", "data-descriptor", "zip64-entry", "zip64-end",
                        "duplicate", "duplicate-dir", "case-collision", "prepended", "second-end",
                        "end-in-comment", "non-utf8-name", "count", "bytes"}) {
    const auto it = by_label.find(m);
    ASSERT_NE(it, by_label.end()) << m;
    EXPECT_GE(it->second.first + it->second.second, 100) << m;
  }
  for (const char* m :
       {"unicode-path", "local-name-differs", "local-fields-differ", "data-descriptor",
        "zip64-entry", "zip64-end", "duplicate-dir", "prepended", "second-end", "non-utf8-name"}) {
    EXPECT_GE(by_label[m].first, 10) << m << ": too few zips that Go accepts";
    EXPECT_GE(by_label[m].second, 10) << m << ": too few zips that Go refuses";
  }
}

TEST(ZipOracle, FileNamesMatch) {
  const std::string out = run_oracle("names");
  std::istringstream in(out);
  int names = 0;
  int folds = 0;
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> f = split(line, ' ');
    if (f[0] == "name") {
      ASSERT_EQ(f.size(), 4u) << line;
      const std::string name = unhex(f[1]);
      const auto err = detail::check_file_path(name);
      EXPECT_EQ(!err.has_value(), f[2] == "ok")
          << detail::quote(name) << " x/mod: " << f[2] << ", stoa: " << err.value_or("ok");
      EXPECT_EQ(detail::clean_path(name), unhex(f[3])) << detail::quote(name);
      ++names;
    } else if (f[0] == "fold") {
      ASSERT_EQ(f.size(), 4u) << line;
      const std::string a = unhex(f[1]);
      const std::string b = unhex(f[2]);
      EXPECT_EQ(detail::str_to_fold(a) == detail::str_to_fold(b), f[3] == "1")
          << detail::quote(a) << " vs " << detail::quote(b);
      ++folds;
    }
  }
  EXPECT_GE(names, 10000);
  EXPECT_GE(folds, 10000);
}

TEST(ZipOracle, UnicodeTablesMatch) {
  const std::string out = run_oracle("unicode");
  std::istringstream in(out);
  constexpr char32_t k_runes = 0x110000;
  std::vector<bool> letter(k_runes, false);
  std::map<char32_t, char32_t> fold;
  std::string version;
  for (std::string line; std::getline(in, line);) {
    const std::vector<std::string> f = split(line, ' ');
    if (f[0] == "version") {
      version = f.at(1);
    } else if (f[0] == "letter") {
      for (unsigned long r = std::stoul(f.at(1)); r <= std::stoul(f.at(2)); ++r) letter[r] = true;
    } else if (f[0] == "fold") {
      fold[static_cast<char32_t>(std::stoul(f.at(1)))] = static_cast<char32_t>(std::stoul(f.at(2)));
    }
  }
  ASSERT_FALSE(version.empty());
  ASSERT_GT(fold.size(), 1000u);
  int mismatches = 0;
  for (char32_t r = 0; r < k_runes && mismatches < 20; ++r) {
    const bool want_letter =
        r < 0x80 ? (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') : static_cast<bool>(letter[r]);
    const auto it = fold.find(r);
    const char32_t want_fold = it == fold.end() ? r : it->second;
    if (detail::is_letter(r) != want_letter || detail::fold_min(r) != want_fold) {
      ++mismatches;
      ADD_FAILURE()
          << "U+" << std::hex << static_cast<unsigned>(r)
          << ": regenerate unicode_tables.inc with `ziporacle unicode-inc` (Go has Unicode "
          << version << ")";
    }
  }
}

}  // namespace
}  // namespace stoa::modzip
