#include "stoa/modzip/modzip.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "stoa/modzip/names.hpp"
#include "stoa/modzip/unicode.hpp"

namespace stoa::modzip {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_mod = "example.com/m";
constexpr std::string_view k_ver = "v1.0.0";
const std::string k_prefix = "example.com/m@v1.0.0/";

// ---- fixtures -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stoa-modzip-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category());
    m_path = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  std::string file(std::string_view name) const { return (m_path / name).string(); }

 private:
  fs::path m_path;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

struct Item {
  std::string name;  // without the module prefix; a trailing '/' makes a directory entry
  std::string data;
  zip_int32_t method = ZIP_CM_DEFLATE;
  std::optional<std::uint32_t> unix_mode = std::nullopt;
  std::uint64_t zeros = 0;  // when non-zero, the content is this many zero bytes (streamed)
};

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

// A libzip source producing `n` zero bytes without holding them in memory.
zip_int64_t zeros_callback(void* userdata, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* state = static_cast<std::array<std::uint64_t, 2>*>(userdata);  // {size, position}
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      (*state)[1] = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      const std::uint64_t n = std::min<std::uint64_t>(len, (*state)[0] - (*state)[1]);
      std::memset(data, 0, n);
      (*state)[1] += n;
      return static_cast<zip_int64_t>(n);
    }
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = static_cast<zip_stat_t*>(data);
      zip_stat_init(st);
      st->size = (*state)[0];
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR:
      return 2 * sizeof(int);
    case ZIP_SOURCE_FREE:
      delete state;
      return 0;
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                            ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
      return -1;
  }
}

// Writes a zip with libzip; names get k_prefix unless `raw_names`.
void write_zip(const std::string& path, const std::vector<Item>& items, bool raw_names = false) {
  int err = 0;
  std::unique_ptr<zip_t, ZipDiscard> za(zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  ASSERT_TRUE(za) << "zip_open " << err;
  for (const Item& item : items) {
    const std::string name = raw_names ? item.name : k_prefix + item.name;
    zip_int64_t idx = -1;
    if (name.ends_with('/')) {
      idx = zip_dir_add(za.get(), name.c_str(), ZIP_FL_ENC_GUESS);
    } else {
      zip_source_t* src = nullptr;
      if (item.zeros != 0) {
        src = zip_source_function(za.get(), zeros_callback,
                                  new std::array<std::uint64_t, 2>{item.zeros, 0});
      } else {
        src = zip_source_buffer(za.get(), item.data.data(), item.data.size(), 0);
      }
      ASSERT_NE(src, nullptr);
      idx = zip_file_add(za.get(), name.c_str(), src, ZIP_FL_ENC_GUESS);
      if (idx < 0) zip_source_free(src);
      ASSERT_GE(idx, 0) << name << ": " << zip_strerror(za.get());
      ASSERT_EQ(zip_set_file_compression(za.get(), static_cast<zip_uint64_t>(idx), item.method, 0),
                0)
          << zip_strerror(za.get());
    }
    ASSERT_GE(idx, 0) << name << ": " << zip_strerror(za.get());
    if (item.unix_mode) {
      ASSERT_EQ(zip_file_set_external_attributes(za.get(), static_cast<zip_uint64_t>(idx), 0,
                                                 ZIP_OPSYS_UNIX, *item.unix_mode << 16),
                0);
    }
  }
  ASSERT_EQ(zip_close(za.get()), 0) << zip_strerror(za.get());
  static_cast<void>(za.release());  // zip_close freed it
}

// The central-directory record (offset into `zip`) of the entry named `name`.
std::size_t central_record(const std::string& zip, std::string_view name) {
  const std::string sig("PK\x01\x02", 4);
  for (std::size_t at = zip.find(sig); at != std::string::npos; at = zip.find(sig, at + 1)) {
    const auto u16 = [&](std::size_t off) {
      return static_cast<std::size_t>(static_cast<unsigned char>(zip[at + off]) |
                                      static_cast<unsigned char>(zip[at + off + 1]) << 8);
    };
    if (zip.compare(at + 46, u16(28), name) == 0 && u16(28) == name.size()) return at;
  }
  ADD_FAILURE() << "no central record for " << name;
  return std::string::npos;
}

void put_u32(std::string& zip, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) zip[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint32_t get_u32(const std::string& zip, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(zip[off + i]);
  return v;
}

// Central-directory field offsets.
constexpr std::size_t k_cd_crc = 16;
constexpr std::size_t k_cd_comp_size = 20;
constexpr std::size_t k_cd_size = 24;

// Rewrites one 32-bit field of an entry's central-directory record in the zip at `path`.
void patch_central(const std::string& path, std::string_view entry, std::size_t field,
                   std::uint32_t value) {
  std::string zip = read_bytes(path);
  const std::size_t at = central_record(zip, entry);
  ASSERT_NE(at, std::string::npos);
  put_u32(zip, at + field, value);
  write_bytes(path, zip);
}

std::string joined(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += p + "\n";
  return s;
}

std::string base64(const unsigned char* d, std::size_t n) {
  std::vector<unsigned char> out(4 * ((n + 2) / 3) + 1);
  const int len = EVP_EncodeBlock(out.data(), d, static_cast<int>(n));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(len));
}

// ---- names ----------------------------------------------------------------------------------

TEST(CheckFilePath, Table) {
  struct Case {
    std::string_view path;
    bool ok;
  };
  const Case cases[] = {
      {"go.mod", true},
      {"a/b/c.go", true},
      {".hidden", true},
      {"-dash", true},
      {"x~1", true},
      {"a b!#$%&()+,-.=@[]^_{}~", true},
      {"héllo/wörld", true},
      {"日本語", true},
      {"ǅ", true},
      {"com0", true},
      {"conx", true},
      {"", false},
      {"/abs", false},
      {"trailing/", false},
      {"a//b", false},
      {".", false},
      {"..", false},
      {"a/../b", false},
      {"...", false},
      {"a.", false},
      {"a:b", false},
      {"a*b", false},
      {"a\\b", false},
      {"a\"b", false},
      {"a'b", false},
      {"a`b", false},
      {"a|b", false},
      {"a<b>", false},
      {"a?", false},
      {"a\tb", false},
      {std::string_view("a\0b", 3), false},
      {"con", false},
      {"CON.txt", false},
      {"dir/Com1.go", false},
      {"lpt9", false},
      {"aux.tar.gz", false},
      {"a\xff", false},
      {"a\xed\xa0\x80", false},     // surrogate
      {"a\xc0\xaf", false},         // overlong
      {"\xf4\x90\x80\x80", false},  // > U+10FFFF
      {"e\xcc\x81", false},         // combining mark
      {"\xe2\x85\xab", false},      // letter number (Nl)
      {"\xf0\x9f\x98\x80", false},  // emoji
      {"a\xc2\xa0"
       "b",
       false},  // no-break space
  };
  for (const Case& c : cases) {
    const auto err = detail::check_file_path(c.path);
    EXPECT_EQ(!err.has_value(), c.ok) << detail::quote(c.path) << " " << err.value_or("");
  }
}

TEST(CleanPath, MatchesGoPathClean) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "."},
      {".", "."},
      {"..", ".."},
      {"a", "a"},
      {"a/", "a"},
      {"a//b", "a/b"},
      {"a/./b", "a/b"},
      {"a/../b", "b"},
      {"a/..", "."},
      {"../a", "../a"},
      {"../../a/..", "../.."},
      {"/", "/"},
      {"/..", "/"},
      {"/../a", "/a"},
      {"//a//", "/a"},
      {"a/b/../../..", ".."},
      {"./a/./", "a"},
      {"a/.../b", "a/.../b"},
      {"abc/def/../ghi", "abc/ghi"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(detail::clean_path(in), want) << in;
}

TEST(StrToFold, FoldsLikeStringsEqualFold) {
  using detail::str_to_fold;
  EXPECT_EQ(str_to_fold("already/lower.go"), "already/lower.go");
  EXPECT_EQ(str_to_fold("README"), str_to_fold("readme"));
  EXPECT_EQ(str_to_fold("K"), str_to_fold("\xe2\x84\xaa"));  // KELVIN SIGN
  EXPECT_EQ(str_to_fold("s"), str_to_fold("\xc5\xbf"));      // LONG S
  EXPECT_EQ(str_to_fold("σ"), str_to_fold("ς"));
  EXPECT_EQ(str_to_fold("ǅ"), str_to_fold("Ǆ"));
  EXPECT_EQ(str_to_fold("ß"), str_to_fold("ẞ"));
  EXPECT_NE(str_to_fold("ß"), str_to_fold("ss"));
  EXPECT_NE(str_to_fold("a.go"), str_to_fold("b.go"));
}

TEST(CollisionChecker, Table) {
  struct Case {
    std::vector<std::pair<std::string_view, bool>> paths;  // path, is_dir
    std::string_view error;                                // "" = none
  };
  const Case cases[] = {
      {{{"a/b.go", false}, {"a/c.go", false}, {"a", true}, {"a", true}}, ""},
      {{{"README", false}, {"readme", false}}, "case-insensitive file name collision"},
      {{{"a/B.go", false}, {"A/c.go", false}}, "case-insensitive file name collision"},
      {{{"x.go", false}, {"x.go", false}}, "multiple entries for file"},
      {{{"a", false}, {"a/b", false}}, "is both a file and a directory"},
      {{{"a", true}, {"a", false}}, "is both a file and a directory"},
      {{{"ß", false}, {"ss", false}}, ""},
  };
  for (const Case& c : cases) {
    detail::CollisionChecker checker;
    std::string got;
    for (const auto& [path, is_dir] : c.paths) {
      if (auto err = checker.check(path, is_dir)) {
        got = *err;
        break;
      }
    }
    if (c.error.empty()) {
      EXPECT_EQ(got, "") << c.paths.front().first;
    } else {
      EXPECT_NE(got.find(c.error), std::string::npos) << got;
    }
  }
}

// ---- go.mod hashes (expected values computed by x/mod's dirhash) -------------------------------

TEST(HashGoMod, KnownValues) {
  EXPECT_EQ(hash_go_mod(""), "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=");
  EXPECT_EQ(hash_go_mod("module example.com/m\n"),
            "h1:flS2VctbRrTv+sBE+VKgxx6hlkMGPVz9MGOmzMYFg3k=");
}

TEST(HashGoMod, FileMatchesBytes) {
  TempDir dir;
  std::string big(300000, 'x');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  write_bytes(dir.file("go.mod"), big);
  EXPECT_EQ(hash_go_mod_file(dir.file("go.mod")), hash_go_mod(big));
  EXPECT_THROW(hash_go_mod_file(dir.file("missing.mod")), std::system_error);
}

// ---- check_zip ------------------------------------------------------------------------------

struct ZipCase {
  std::string label;
  std::vector<Item> items;
  std::string problem;  // "" = accepted; else a substring of the first problem
  std::string h1;       // when accepted and known (from x/mod), the expected hash
};

TEST(CheckZip, Table) {
  const std::string eleven = "0123456789a";
  const std::vector<ZipCase> cases = {
      {"deflated", {{"x", eleven}}, "", "h1:zDMBXhbBvl6emTuN/GRST3UgNqLeiW86ZOBCDNUZLII="},
      {"stored",
       {{"x", eleven, ZIP_CM_STORE}},
       "",
       "h1:zDMBXhbBvl6emTuN/GRST3UgNqLeiW86ZOBCDNUZLII="},
      {"simple module",
       {{"go.mod", "module example.com/m\n\ngo 1.21\n"},
        {"LICENSE", "Copyright nobody\n", ZIP_CM_STORE},
        {"m.go", "package m\n"}},
       "",
       "h1:1UdK3udJsSzYvahVfq+b68XH/Z9vltFkyu972Z19gUs="},
      {"directory entries", {{"", ""}, {"sub/", ""}, {"sub/x.go", "package sub\n"}}, "", ""},
      {"a directory entry is hashed",
       {{"d/", ""}},
       "",
       "h1:UwLatpMX4l5w/ignM9BU1wNT/w2A80jk1J9sNtU7SHk="},
      {"vendor files are kept",
       {{"vendor/modules.txt", "#"}, {"vendor/a.b/c/c.go", "package c"}},
       "",
       ""},
      {"symlink entries are files to x/mod", {{"link", "target", ZIP_CM_STORE, 0120777}}, "", ""},
      {"fifo entries are files to x/mod", {{"fifo", "", ZIP_CM_STORE, 0010644}}, "", ""},
      {"go.mod directory", {{"go.mod/x.go", "package x"}}, "", ""},
      {"dotdot", {{"../evil", "x"}}, "invalid path element", ""},
      {"not clean", {{"a/./b", "x"}}, "file path is not clean", ""},
      {"invalid char", {{"a:b", "x"}}, "invalid char ':'", ""},
      {"windows name",
       {{"dir/NUL.txt", "x"}},
       "disallowed as path element component on Windows",
       ""},
      {"case collision",
       {{"README", "1"}, {"readme", "2"}},
       "case-insensitive file name collision",
       ""},
      {"kelvin collision", {{"K.go", "1"}, {"\xe2\x84\xaa.go", "2"}}, "case-insensitive", ""},
      {"file and dir", {{"a", "1"}, {"a/b", "2"}}, "is both a file and a directory", ""},
      {"go.mod in subdirectory",
       {{"sub/go.mod", "module x"}},
       "go.mod file not in module root",
       ""},
      {"go.mod uppercase", {{"GO.MOD", "module x"}}, "go.mod files must have lowercase names", ""},
      {"go.mod 16 MiB", {{"go.mod", "", ZIP_CM_DEFLATE, std::nullopt, k_max_go_mod_bytes}}, "", ""},
      {"go.mod over 16 MiB",
       {{"go.mod", "", ZIP_CM_DEFLATE, std::nullopt, k_max_go_mod_bytes + 1}},
       "go.mod file too large",
       ""},
      {"LICENSE over 16 MiB",
       {{"LICENSE", "", ZIP_CM_DEFLATE, std::nullopt, k_max_license_bytes + 1}},
       "LICENSE file too large",
       ""},
      {"sub/LICENSE over 16 MiB is fine",
       {{"sub/LICENSE", "", ZIP_CM_DEFLATE, std::nullopt, k_max_license_bytes + 1}},
       "",
       ""},
  };
  TempDir dir;
  for (const ZipCase& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string path = dir.file("case.zip");
    write_zip(path, c.items);
    const ZipCheck got = check_zip(path, k_mod, k_ver);
    if (c.problem.empty()) {
      EXPECT_TRUE(got.ok()) << joined(got.problems);
      EXPECT_TRUE(got.h1.starts_with("h1:")) << got.h1;
      if (!c.h1.empty()) {
        EXPECT_EQ(got.h1, c.h1);
      }
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_NE(got.problems.front().find(c.problem), std::string::npos) << joined(got.problems);
      EXPECT_EQ(got.h1, "");
    }
  }
}

TEST(CheckZip, PrefixIsTheDecodedModulePathAndVersion) {
  TempDir dir;
  const std::string path = dir.file("m.zip");
  write_zip(path, {{"github.com/Azure/x@v1.0.0-RC1/x.go", "package x"}}, true);
  EXPECT_TRUE(check_zip(path, "github.com/Azure/x", "v1.0.0-RC1").ok());
  const ZipCheck escaped = check_zip(path, "github.com/!azure/x", "v1.0.0-!r!c1");
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.problems.front().find("path does not have prefix"), std::string::npos);
  EXPECT_FALSE(check_zip(path, "github.com/Azure/x", "v1.0.0").ok());
}

TEST(CheckZip, HashIgnoresCompressionAndOrder) {
  TempDir dir;
  write_zip(dir.file("a.zip"), {{"a.go", "package m\n"}, {"b.go", "", ZIP_CM_STORE}, {"d/", ""}});
  write_zip(dir.file("b.zip"), {{"d/", ""}, {"b.go", ""}, {"a.go", "package m\n", ZIP_CM_STORE}});
  write_zip(dir.file("c.zip"), {{"a.go", "package m\n"}, {"b.go", "x"}, {"d/", ""}});
  const ZipCheck a = check_zip(dir.file("a.zip"), k_mod, k_ver);
  const ZipCheck b = check_zip(dir.file("b.zip"), k_mod, k_ver);
  const ZipCheck c = check_zip(dir.file("c.zip"), k_mod, k_ver);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a.h1, b.h1);
  EXPECT_NE(a.h1, c.h1);
}

TEST(CheckZip, DuplicateNames) {
  // libzip refuses to write duplicates: write two names of equal length, rename one.
  TempDir dir;
  const std::string path = dir.file("dup.zip");
  write_zip(path, {{"x.go", "1"}, {"y.go", "1"}});
  std::string zip = read_bytes(path);
  for (std::size_t at = zip.find(k_prefix + "y.go"); at != std::string::npos;
       at = zip.find(k_prefix + "y.go", at + 1)) {
    zip[at + k_prefix.size()] = 'x';
  }
  write_bytes(path, zip);
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("multiple entries for file"), std::string::npos);
}

TEST(CheckZip, UnsupportedCompressionMethod) {
  if (zip_compression_method_supported(ZIP_CM_BZIP2, 1) == 0) GTEST_SKIP() << "no bzip2 in libzip";
  TempDir dir;
  const std::string path = dir.file("bz.zip");
  write_zip(path, {{"x.go", "package x\n", ZIP_CM_BZIP2}});
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("unsupported compression method 12"), std::string::npos);
}

// ---- declared sizes and checksums ------------------------------------------------------------

struct PatchCase {
  std::string label;
  zip_int32_t method;
  std::size_t field;
  std::int64_t delta;  // added to the field's value
  std::string problem;
};

TEST(CheckZip, LyingHeadersAreRejected) {
  const std::string content = "hello, world: some content that deflate can shrink a bit";
  const std::vector<PatchCase> cases = {
      {"deflated, declared smaller", ZIP_CM_DEFLATE, k_cd_size, -1, "larger than declared size"},
      {"deflated, declared larger", ZIP_CM_DEFLATE, k_cd_size, +1, "differs from declared size"},
      {"deflated, declared zero", ZIP_CM_DEFLATE, k_cd_size,
       -static_cast<std::int64_t>(content.size()), "larger than declared size"},
      {"stored, declared smaller", ZIP_CM_STORE, k_cd_size, -1, "larger than declared size"},
      {"stored, declared larger", ZIP_CM_STORE, k_cd_size, +1, "differs from declared size"},
      {"deflated, truncated data", ZIP_CM_DEFLATE, k_cd_comp_size, -4, "unexpected EOF"},
      {"stored, both sizes smaller", ZIP_CM_STORE, k_cd_size, 0, ""},  // see below
      {"deflated, bad crc", ZIP_CM_DEFLATE, k_cd_crc, 1, "checksum error"},
      {"stored, bad crc", ZIP_CM_STORE, k_cd_crc, 1, "checksum error"},
  };
  TempDir dir;
  for (const PatchCase& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string path = dir.file("lie.zip");
    write_zip(path, {{"x.txt", content, c.method}});
    ASSERT_TRUE(check_zip(path, k_mod, k_ver).ok());
    std::string zip = read_bytes(path);
    const std::size_t at = central_record(zip, k_prefix + "x.txt");
    ASSERT_NE(at, std::string::npos);
    if (c.problem.empty()) {
      // Both sizes one smaller: the reader sees a consistent entry whose CRC no longer matches.
      put_u32(zip, at + k_cd_size, get_u32(zip, at + k_cd_size) - 1);
      put_u32(zip, at + k_cd_comp_size, get_u32(zip, at + k_cd_comp_size) - 1);
    } else {
      put_u32(zip, at + c.field, static_cast<std::uint32_t>(get_u32(zip, at + c.field) + c.delta));
    }
    write_bytes(path, zip);
    const ZipCheck got = check_zip(path, k_mod, k_ver);
    ASSERT_FALSE(got.ok());
    const std::string want = c.problem.empty() ? "checksum error" : c.problem;
    EXPECT_NE(got.problems.front().find(want), std::string::npos) << joined(got.problems);
  }
}

TEST(CheckZip, ZeroCrcIsNotChecked) {
  // Go's archive/zip skips the CRC check when the field is 0 (and there is no data descriptor).
  TempDir dir;
  const std::string path = dir.file("crc0.zip");
  write_zip(path, {{"x.txt", "content"}});
  const std::string h1 = check_zip(path, k_mod, k_ver).h1;
  patch_central(path, k_prefix + "x.txt", k_cd_crc, 0);
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  EXPECT_TRUE(got.ok()) << joined(got.problems);
  EXPECT_EQ(got.h1, h1);
}

TEST(CheckZip, DirectoryEntryDeclaringContentIsRejected) {
  TempDir dir;
  const std::string path = dir.file("d.zip");
  write_zip(path, {{"d/", ""}});
  patch_central(path, k_prefix + "d/", k_cd_size, 5);
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("directory entry declares 5 bytes"), std::string::npos);
}

TEST(CheckZip, DeclaredSizeLimitsNeedNoDecompression) {
  TempDir dir;
  const std::string path = dir.file("big.zip");
  write_zip(path, {{"a", "1"}, {"b", "2"}});
  patch_central(path, k_prefix + "a", k_cd_size, 300u << 20);
  patch_central(path, k_prefix + "b", k_cd_size, 300u << 20);
  ZipCheck got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("total uncompressed size of module contents too large"),
            std::string::npos);

  write_zip(path, {{"go.mod", "module example.com/m\n"}});
  patch_central(path, k_prefix + "go.mod", k_cd_size,
                static_cast<std::uint32_t>(k_max_go_mod_bytes + 1));
  got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("go.mod file too large"), std::string::npos);
}

TEST(CheckZip, ZipFileOverLimitIsRejectedBeforeParsing) {
  TempDir dir;
  const std::string path = dir.file("huge.zip");
  write_zip(path, {{"x.go", "package x"}});
  fs::resize_file(path, k_max_zip_bytes + 1);  // sparse: no disk space used
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.problems.front().find("module zip file is too large"), std::string::npos);
  fs::resize_file(path, k_max_zip_bytes);
  EXPECT_EQ(check_zip(path, k_mod, k_ver).problems.front().find("too large"), std::string::npos);
}

TEST(CheckZip, NotAZip) {
  TempDir dir;
  write_bytes(dir.file("empty.zip"), "");
  write_bytes(dir.file("text.zip"), "this is not a zip file\n");
  for (const char* name : {"empty.zip", "text.zip"}) {
    const ZipCheck got = check_zip(dir.file(name), k_mod, k_ver);
    ASSERT_FALSE(got.ok()) << name;
    EXPECT_NE(got.problems.front().find("not a valid zip file"), std::string::npos);
  }
  // An archive with no entries is a valid (empty) module.
  write_bytes(dir.file("none.zip"), std::string("PK\x05\x06", 4) + std::string(18, '\0'));
  const ZipCheck none = check_zip(dir.file("none.zip"), k_mod, k_ver);
  EXPECT_TRUE(none.ok()) << joined(none.problems);
  EXPECT_EQ(none.h1, "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(CheckZip, UnreadableFileThrows) {
  TempDir dir;
  EXPECT_THROW(check_zip(dir.file("missing.zip"), k_mod, k_ver), std::system_error);
  EXPECT_THROW(check_zip(dir.file(""), k_mod, k_ver), std::system_error);  // a directory
}

// ---- memory stays bounded ----------------------------------------------------------------------

long max_rss_kib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Builds the zip in a child process so that this process's peak RSS reflects check_zip alone.
void write_zip_in_child(const std::string& path, const std::vector<Item>& items) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    write_zip(path, items);
    ::_exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(CheckZip, LargeEntryIsStreamed) {
  constexpr std::uint64_t k_size = 200ull << 20;
  TempDir dir;
  const std::string path = dir.file("zeros.zip");
  write_zip_in_child(path, {{"zeros.bin", "", ZIP_CM_DEFLATE, std::nullopt, k_size}});
  ASSERT_LT(fs::file_size(path), 1u << 20);

  // The expected h1, computed directly: one line for one file.
  std::array<unsigned char, 32> file_digest{};
  {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    ASSERT_EQ(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr), 1);
    const std::vector<unsigned char> zeros(1 << 20);
    for (std::uint64_t done = 0; done < k_size; done += zeros.size()) {
      ASSERT_EQ(EVP_DigestUpdate(ctx.get(), zeros.data(), zeros.size()), 1);
    }
    ASSERT_EQ(EVP_DigestFinal_ex(ctx.get(), file_digest.data(), nullptr), 1);
  }
  std::string line;
  for (unsigned char b : file_digest) {
    constexpr std::string_view k_hex = "0123456789abcdef";
    line += k_hex[b >> 4];
    line += k_hex[b & 0xF];
  }
  line += "  " + k_prefix + "zeros.bin\n";
  std::array<unsigned char, 32> summary{};
  ASSERT_EQ(EVP_Digest(line.data(), line.size(), summary.data(), nullptr, EVP_sha256(), nullptr),
            1);
  const std::string want = "h1:" + base64(summary.data(), summary.size());

  const long before = max_rss_kib();
  const ZipCheck got = check_zip(path, k_mod, k_ver);
  const long grown_kib = max_rss_kib() - before;
  EXPECT_TRUE(got.ok()) << joined(got.problems);
  EXPECT_EQ(got.h1, want);
  EXPECT_LT(grown_kib, 32 * 1024) << "check_zip's peak memory grew by " << grown_kib << " KiB";

  // The same entry declaring one byte less: rejected as soon as the output passes the size.
  patch_central(path, k_prefix + "zeros.bin", k_cd_size, static_cast<std::uint32_t>(k_size - 1));
  const ZipCheck lie = check_zip(path, k_mod, k_ver);
  ASSERT_FALSE(lie.ok());
  EXPECT_NE(lie.problems.front().find("larger than declared size"), std::string::npos)
      << joined(lie.problems);
}

}  // namespace
}  // namespace stoa::modzip

namespace stoa::modzip {
namespace {

// Regression from fuzz/zip_check: a ZIP64 locator pointing far past the end made libzip's open
// fail with a seek error, which was reported as a local I/O failure instead of a bad zip.
TEST(CheckZipRegression, Zip64LocatorPastTheEndIsBadContent) {
  const unsigned char bytes[] = {0x50, 0x4b, 0x06, 0x07, 0xa7, 0xa7, 0xa7, 0xa7, 0xa7, 0xa7, 0xa7,
                                 0x50, 0x4b, 0x06, 0x07, 0xa7, 0xa7, 0xa7, 0x6f, 0x64, 0x50, 0x4b,
                                 0x05, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5b, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  TempDir dir;
  const std::string path = dir.file("x.zip");
  write_bytes(path, std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  ZipCheck check;
  ASSERT_NO_THROW(check = check_zip(path, "example.com/mod", "v1.0.0"));
  EXPECT_FALSE(check.ok());
}

}  // namespace
}  // namespace stoa::modzip
