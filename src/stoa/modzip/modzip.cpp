#include "stoa/modzip/modzip.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "stoa/modzip/archive.hpp"
#include "stoa/modzip/dirhash.hpp"
#include "stoa/modzip/names.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::modzip {
namespace {

using detail::Digest;
using detail::quote;
using detail::Sha256;

// Decompression and hashing work in chunks of this size: memory per check is two buffers plus
// one name and one digest per entry, whatever the entry sizes.
constexpr std::size_t k_chunk = std::size_t{64} * 1024;

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// zip.CheckZip's per-entry rules over the central directory (declared sizes only).
// Appends problems.
void check_entries(const std::vector<detail::ZipEntry>& entries, std::string_view module_path,
                   std::string_view version, std::vector<std::string>& problems) {
  const std::string prefix = std::string(module_path) + "@" + std::string(version) + "/";
  detail::CollisionChecker collisions;
  std::uint64_t total = 0;
  std::optional<std::string> size_error;
  std::vector<std::string> invalid;
  for (const detail::ZipEntry& e : entries) {
    const std::string_view name = e.name;
    const auto fail = [&](const std::string& why) { invalid.push_back(e.name + ": " + why); };
    if (!name.starts_with(prefix)) {
      fail("path does not have prefix " + quote(prefix));
      continue;
    }
    std::string_view rel = name.substr(prefix.size());
    if (rel.empty()) continue;  // the "<module>@<version>/" directory itself
    const bool is_dir = rel.ends_with('/');
    if (is_dir) rel.remove_suffix(1);
    if (detail::clean_path(rel) != rel) {
      fail("file path is not clean");
      continue;
    }
    if (auto err = detail::check_file_path(rel)) {
      fail(*err);
      continue;
    }
    if (auto err = collisions.check(rel, is_dir)) {
      fail(*err);
      continue;
    }
    if (is_dir) continue;
    const std::size_t slash = rel.rfind('/');
    const std::string_view base = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
    if (text::iequals(base, "go.mod")) {  // strings.EqualFold: no 'k' or 's' in "go.mod"
      if (base != rel) {
        fail("go.mod file not in module root directory");
        continue;
      }
      if (rel != "go.mod") {
        fail("go.mod files must have lowercase names");
        continue;
      }
    }
    // x/mod converts to int64: a size of 2^63 or more is negative there, and too large here.
    if (e.size <= k_max_unzipped_bytes - total) {
      total += e.size;
    } else if (!size_error) {
      size_error = "total uncompressed size of module contents too large (max size is " +
                   std::to_string(k_max_unzipped_bytes) + " bytes)";
    }
    if (rel == "go.mod" && e.size > k_max_go_mod_bytes) {
      fail("go.mod file too large (max size is " + std::to_string(k_max_go_mod_bytes) + " bytes)");
      continue;
    }
    if (rel == "LICENSE" && e.size > k_max_license_bytes) {
      fail("LICENSE file too large (max size is " + std::to_string(k_max_license_bytes) +
           " bytes)");
      continue;
    }
  }
  if (size_error) problems.push_back(std::move(*size_error));
  for (auto& p : invalid) problems.push_back(std::move(p));
}

Digest digest_stream(int fd, const std::string& path) {
  Sha256 sha;
  std::vector<unsigned char> buf(k_chunk);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n == 0) return sha.finish();
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "read " + path);
    }
    sha.update(buf.data(), static_cast<std::size_t>(n));
  }
}

std::string go_mod_h1(const Digest& d) {
  detail::Hash1 h;
  h.add("go.mod", d);
  return h.finish();
}

}  // namespace

ZipCheck check_zip(const std::string& zip_path, std::string_view module_path,
                   std::string_view version) {
  ZipCheck result;
  Fd fd(::open(zip_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "open " + zip_path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "stat " + zip_path);
  if (S_ISDIR(st.st_mode)) throw_errno(EISDIR, "open " + zip_path);
  const auto zip_size = static_cast<std::uint64_t>(st.st_size);
  if (zip_size > k_max_zip_bytes) {
    result.problems.push_back("module zip file is too large (" + std::to_string(zip_size) +
                              " bytes; limit is " + std::to_string(k_max_zip_bytes) + " bytes)");
    return result;
  }

  std::string error;
  std::optional<detail::ZipArchive> za =
      detail::ZipArchive::open(fd.get(), static_cast<std::int64_t>(zip_size), error);
  if (!za) {
    result.problems.push_back("not a valid zip file: " + error);
    return result;
  }
  check_entries(za->entries(), module_path, version, result.problems);
  if (!result.ok()) return result;

  // dirhash.HashZip hashes every entry name (duplicates, directories and the root entry
  // included), each with the content of the last entry of that name; zip.Unzip reads every file
  // (unique by now). So each name's last entry must read cleanly.
  const std::vector<detail::ZipEntry>& entries = za->entries();
  std::unordered_map<std::string_view, std::size_t> last;
  last.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) last[entries[i].name] = i;
  std::unordered_map<std::string_view, Digest> digests;
  digests.reserve(last.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const detail::ZipEntry& e = entries[i];
    if (last[e.name] != i) continue;
    Sha256 sha;
    if (auto problem =
            za->read(e, [&](const unsigned char* data, std::size_t n) { sha.update(data, n); })) {
      result.problems.push_back(e.name + ": " + *problem);
      return result;
    }
    digests.emplace(e.name, sha.finish());
  }
  detail::Hash1 h1;
  for (const detail::ZipEntry& e : entries) h1.add(e.name, digests.at(e.name));
  result.h1 = h1.finish();
  return result;
}

std::string hash_go_mod(std::string_view go_mod_bytes) {
  Sha256 sha;
  sha.update(go_mod_bytes);
  return go_mod_h1(sha.finish());
}

std::string hash_go_mod_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "open " + path);
  return go_mod_h1(digest_stream(fd.get(), path));
}

}  // namespace stoa::modzip
