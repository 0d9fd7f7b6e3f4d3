#include "stoa/modzip/modzip.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "stoa/modzip/dirhash.hpp"
#include "stoa/modzip/names.hpp"

namespace stoa::modzip {
namespace {

using detail::Digest;
using detail::quote;
using detail::Sha256;

// Decompression and hashing work in chunks of this size: memory per check is two buffers plus
// one name and one digest per entry, whatever the entry sizes.
constexpr std::size_t k_chunk = 64 * 1024;

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }

 private:
  int m_fd;
};

class Inflater {
 public:
  Inflater() {
    // Raw deflate (no zlib header), as zip method 8 stores it.
    if (inflateInit2(&m_zs, -MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() { inflateEnd(&m_zs); }
  z_stream& stream() { return m_zs; }

 private:
  z_stream m_zs{};
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string zip_error_text(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

// An entry as its central-directory record declares it.
struct Entry {
  std::string name;  // raw bytes, as Go's archive/zip reports File.Name
  zip_uint64_t index = 0;
  std::uint64_t size = 0;  // declared uncompressed size
  std::uint64_t comp_size = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
};

// Reads every entry's content once, enforcing what Go's archive/zip File.Open reader enforces
// when dirhash.HashZip and zip.Unzip read it.
class ContentReader {
 public:
  explicit ContentReader(zip_t* za) : m_za(za), m_in(k_chunk), m_out(k_chunk) {}

  // The entry's SHA-256, or nullopt with `problem` set.
  std::optional<Digest> digest(const Entry& e, std::string& problem) {
    Sha256 sha;
    if (e.name.ends_with('/')) {
      // Directories are never read; one that declares content is rejected (ErrFormat).
      if (e.size != 0) {
        problem = "directory entry declares " + std::to_string(e.size) + " bytes of content";
        return std::nullopt;
      }
      return sha.finish();
    }
    if (e.method != ZIP_CM_STORE && e.method != ZIP_CM_DEFLATE) {
      problem = "unsupported compression method " + std::to_string(e.method);
      return std::nullopt;
    }
    if (e.method == ZIP_CM_STORE && e.comp_size != e.size) {
      // A stored entry's content is its comp_size raw bytes.
      problem = "stored size " + std::to_string(e.comp_size) + " differs from declared size " +
                std::to_string(e.size);
      return std::nullopt;
    }
    m_crc = crc32(0, nullptr, 0);
    m_count = 0;
    bool ok = true;
    if (e.comp_size != 0) {
      // Raw bytes, neither decompressed nor decrypted by libzip (Go ignores the encryption flag
      // too): decompression, sizes and CRC are checked here, with Go's rules.
      ZipFilePtr f(zip_fopen_index(m_za, e.index, ZIP_FL_COMPRESSED | ZIP_FL_ENCRYPTED));
      if (!f) {
        zip_error_t* err = zip_get_error(m_za);
        throw_if_system(err);
        problem = std::string("cannot open entry: ") + zip_error_strerror(err);
        return std::nullopt;
      }
      ok = e.method == ZIP_CM_STORE ? copy_stored(f.get(), e, sha, problem)
                                    : inflate(f.get(), e, sha, problem);
    } else if (e.method == ZIP_CM_DEFLATE) {
      problem = "unexpected EOF (no deflate data)";
      ok = false;
    }
    if (!ok) return std::nullopt;
    if (m_count != e.size) {
      problem = "uncompressed size " + std::to_string(m_count) + " differs from declared size " +
                std::to_string(e.size);
      return std::nullopt;
    }
    // Go skips the check when the CRC field is 0 and the entry has no data descriptor; libzip
    // 1.7 does not expose the descriptor flag, so a 0 CRC is never checked (see modzip.hpp).
    if (e.crc != 0 && m_crc != e.crc) {
      problem = "checksum error";
      return std::nullopt;
    }
    return sha.finish();
  }

 private:
  static void throw_if_system(zip_error_t* err) {
    if (zip_error_code_zip(err) == ZIP_ER_MEMORY) throw std::bad_alloc();
    if (zip_error_system_type(err) == ZIP_ET_SYS && zip_error_code_system(err) != 0) {
      throw_errno(zip_error_code_system(err),
                  std::string("reading zip: ") + zip_error_strerror(err));
    }
  }

  // Reads up to `want` raw bytes into m_in; 0 with `problem` set on a short or failed read.
  std::size_t read_raw(zip_file_t* f, std::uint64_t want, std::string& problem) {
    const auto n = zip_fread(f, m_in.data(), std::min<std::uint64_t>(k_chunk, want));
    if (n > 0) return static_cast<std::size_t>(n);
    if (n < 0) {
      zip_error_t* err = zip_file_get_error(f);
      throw_if_system(err);
      problem = std::string("reading entry: ") + zip_error_strerror(err);
    } else {
      problem = "unexpected EOF";
    }
    return 0;
  }

  bool consume(const unsigned char* data, std::size_t n, const Entry& e, Sha256& sha,
               std::string& problem) {
    if (n > e.size - m_count) {
      problem = "content larger than declared size " + std::to_string(e.size);
      return false;
    }
    m_count += n;
    sha.update(data, n);
    m_crc = crc32(m_crc, data, static_cast<uInt>(n));
    return true;
  }

  // Never asks for more than comp_size bytes, so libzip's own end-of-data checks never run.
  bool copy_stored(zip_file_t* f, const Entry& e, Sha256& sha, std::string& problem) {
    for (std::uint64_t remaining = e.comp_size; remaining != 0;) {
      const std::size_t n = read_raw(f, remaining, problem);
      if (n == 0 || !consume(m_in.data(), n, e, sha, problem)) return false;
      remaining -= n;
    }
    return true;
  }

  // Go's flate reader over exactly comp_size bytes: the stream must end within them (trailing
  // bytes are ignored), and output beyond the declared size stops the read at once.
  bool inflate(zip_file_t* f, const Entry& e, Sha256& sha, std::string& problem) {
    Inflater inflater;
    z_stream& zs = inflater.stream();
    std::uint64_t remaining = e.comp_size;
    bool output_full = false;  // inflate may hold more output without needing more input
    for (;;) {
      if (zs.avail_in == 0 && !output_full) {
        if (remaining == 0) {
          problem = "unexpected EOF in deflate data";
          return false;
        }
        const std::size_t n = read_raw(f, remaining, problem);
        if (n == 0) return false;
        remaining -= n;
        zs.next_in = m_in.data();
        zs.avail_in = static_cast<uInt>(n);
      }
      zs.next_out = m_out.data();
      zs.avail_out = static_cast<uInt>(m_out.size());
      const int rc = ::inflate(&zs, Z_NO_FLUSH);
      output_full = zs.avail_out == 0;
      const std::size_t produced = m_out.size() - zs.avail_out;
      if (produced != 0 && !consume(m_out.data(), produced, e, sha, problem)) return false;
      if (rc == Z_STREAM_END) return true;
      if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_in == 0 && !output_full)) continue;
      if (rc == Z_MEM_ERROR) throw std::bad_alloc();
      problem = std::string("corrupt deflate data: ") + (zs.msg != nullptr ? zs.msg : "error");
      return false;
    }
  }

  zip_t* m_za;
  std::vector<unsigned char> m_in;
  std::vector<unsigned char> m_out;
  uLong m_crc = 0;
  std::uint64_t m_count = 0;
};

// zip.CheckZip's per-entry rules over the central directory (declared sizes only).
// Appends problems; returns the entries to hash.
std::vector<Entry> check_entries(zip_t* za, std::string_view module_path, std::string_view version,
                                 std::vector<std::string>& problems) {
  const std::string prefix = std::string(module_path) + "@" + std::string(version) + "/";
  const zip_int64_t n = zip_get_num_entries(za, 0);
  std::vector<Entry> entries;
  entries.reserve(static_cast<std::size_t>(std::max<zip_int64_t>(n, 0)));
  detail::CollisionChecker collisions;
  std::uint64_t total = 0;
  std::optional<std::string> size_error;
  std::vector<std::string> invalid;
  for (zip_int64_t i = 0; i < n; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    // ENC_RAW: the name bytes as stored, as Go's archive/zip reports them (no CP437 guessing).
    const char* raw = zip_get_name(za, index, ZIP_FL_ENC_RAW);
    zip_stat_t st;
    zip_stat_init(&st);
    if (raw == nullptr || zip_stat_index(za, index, ZIP_FL_ENC_RAW, &st) != 0) {
      invalid.push_back("entry " + std::to_string(i) + ": " + zip_strerror(za));
      continue;
    }
    Entry& e = entries.emplace_back();
    e.name = raw;
    e.index = index;
    e.size = st.size;
    e.comp_size = st.comp_size;
    e.method = st.comp_method;
    e.crc = st.crc;

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
    if (detail::ascii_equal_fold(base, "go.mod")) {
      if (base != rel) {
        fail("go.mod file not in module root directory");
        continue;
      }
      if (rel != "go.mod") {
        fail("go.mod files must have lowercase names");
        continue;
      }
    }
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
  return entries;
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
  if (zip_size == 0) {  // libzip opens an empty file as an empty archive; Go does not
    result.problems.push_back("not a valid zip file: empty file");
    return result;
  }

  int zip_err = 0;
  ZipPtr za(zip_fdopen(fd.get(), ZIP_RDONLY, &zip_err));
  if (!za) {
    switch (zip_err) {
      case ZIP_ER_MEMORY:
        throw std::bad_alloc();
      case ZIP_ER_OPEN:
        throw std::system_error(std::make_error_code(std::errc::io_error),
                                "reading " + zip_path + ": " + zip_error_text(zip_err));
      // The file is open and readable: a seek or read that fails while libzip parses the
      // directory follows offsets the content declares (e.g. a ZIP64 locator pointing past the
      // end). That is bad content, not a local I/O failure (found by fuzz/zip_check).
      default:
        result.problems.push_back("not a valid zip file: " + zip_error_text(zip_err));
        return result;
    }
  }
  fd.release();  // zip_fdopen closes it when the archive is discarded

  std::vector<Entry> entries = check_entries(za.get(), module_path, version, result.problems);
  if (!result.ok()) return result;

  ContentReader reader(za.get());
  detail::Hash1 h1;
  for (Entry& e : entries) {
    std::string problem;
    const std::optional<Digest> digest = reader.digest(e, problem);
    if (!digest) {
      result.problems.push_back(e.name + ": " + problem);
      return result;
    }
    h1.add(std::move(e.name), *digest);
  }
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
