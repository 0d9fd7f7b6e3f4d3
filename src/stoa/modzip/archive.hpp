#pragma once
// A zip reader that sees exactly what Go's archive/zip sees (src/archive/zip/reader.go, Go 1.26),
// because the go command judges a module zip through archive/zip and stoa must judge the same
// bytes the same way: the end-of-central-directory record found by the same backwards search,
// the ZIP64 locator and record read only where Go reads them, the same base offset for zips with
// bytes prepended, the central directory read the way Go reads it (headers until the first bad
// one, the count compared modulo 65536), names as the raw central-directory bytes (no Info-ZIP
// Unicode Path field, no code-page guessing, NUL kept), sizes and offsets from the ZIP64 extra
// field only where the 32-bit field is all ones, and content located through the local header's
// name and extra lengths and checked like File.Open (method, declared size, CRC, data
// descriptor). Differentially tested against x/mod over adversarial zips (differential_test.cpp).
//
// Offsets follow Go's int64 arithmetic, wrapping included. The file must not change while it is
// read. Not thread-safe (one archive object owns its buffers); no shared state.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <zlib.h>

namespace stoa::modzip::detail {

// One central-directory header, as archive/zip's File reports it.
struct ZipEntry {
  std::string name;                // raw name bytes (File.Name)
  std::uint16_t flags = 0;         // general-purpose flags; 0x8: a data descriptor follows the data
  std::uint16_t method = 0;        // 0 store, 8 deflate; others cannot be read
  std::uint32_t crc = 0;           // CRC-32 of the content; 0 is unchecked without a descriptor
  std::uint64_t comp_size = 0;     // CompressedSize64
  std::uint64_t size = 0;          // UncompressedSize64, what reading must produce exactly
  std::int64_t header_offset = 0;  // of the local header, base offset added (may lie anywhere)
};

class ZipArchive {
 public:
  using Sink = std::function<void(const unsigned char* data, std::size_t size)>;

  // Reads the directory of the `size`-byte file open as `fd` (not owned; it must stay open) as
  // zip.NewReader does. nullopt, with `error` set to archive/zip's error text, where NewReader
  // fails. Throws std::system_error when the file cannot be read (pread fails).
  static std::optional<ZipArchive> open(int fd, std::int64_t size, std::string& error);

  ZipArchive(ZipArchive&&) noexcept;
  ZipArchive& operator=(ZipArchive&&) noexcept;
  ~ZipArchive();

  const std::vector<ZipEntry>& entries() const { return m_entries; }

  // Reads the content of `e` as File.Open and reading it to EOF does, handing every chunk to
  // `sink`: nullopt when the whole content was read and passed every check, else the error
  // text (after which `sink` may have seen part of the content). A directory ("name/") has no
  // content and fails when it declares a size. Throws std::system_error when pread fails,
  // std::bad_alloc when zlib cannot allocate.
  std::optional<std::string> read(const ZipEntry& e, const Sink& sink);

 private:
  ZipArchive(int fd, std::int64_t size);

  std::optional<std::string> read_stored(std::int64_t start, std::int64_t limit, const ZipEntry& e,
                                         const Sink& sink);
  std::optional<std::string> read_deflated(std::int64_t start, std::int64_t limit,
                                           const ZipEntry& e, const Sink& sink);
  // The checksumReader's per-chunk accounting; false when the content passes its size.
  bool consume(const unsigned char* data, std::size_t n, const ZipEntry& e, const Sink& sink);

  int m_fd;
  std::int64_t m_size;
  std::vector<ZipEntry> m_entries;
  std::vector<unsigned char> m_in;
  std::vector<unsigned char> m_out;
  z_stream m_zs{};
  bool m_zs_ready = false;
  uLong m_crc = 0;
  std::uint64_t m_count = 0;
};

}  // namespace stoa::modzip::detail
