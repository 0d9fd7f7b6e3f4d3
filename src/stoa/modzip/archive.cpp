#include "stoa/modzip/archive.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace stoa::modzip::detail {
namespace {

constexpr std::size_t k_chunk = std::size_t{64} * 1024;
constexpr std::int64_t k_max_int64 = std::numeric_limits<std::int64_t>::max();

constexpr std::uint32_t k_file_header_sig = 0x04034b50;
constexpr std::uint32_t k_directory_header_sig = 0x02014b50;
constexpr std::uint32_t k_directory_end_sig = 0x06054b50;
constexpr std::uint32_t k_directory64_loc_sig = 0x07064b50;
constexpr std::uint32_t k_directory64_end_sig = 0x06064b50;
constexpr std::uint32_t k_data_descriptor_sig = 0x08074b50;
constexpr std::size_t k_file_header_len = 30;
constexpr std::size_t k_directory_header_len = 46;
constexpr std::size_t k_directory_end_len = 22;
constexpr std::size_t k_directory64_loc_len = 20;
constexpr std::size_t k_directory64_end_len = 56;
constexpr std::uint16_t k_zip64_extra_id = 0x0001;

const std::string k_err_format = "zip: not a valid zip file";
const std::string k_err_algorithm = "zip: unsupported compression algorithm";
const std::string k_err_checksum = "zip: checksum error";
const std::string k_err_unexpected_eof = "unexpected EOF";

std::string too_large(const ZipEntry& e) {
  return k_err_format + " (content larger than declared size " + std::to_string(e.size) + ")";
}

// Go's int64 + and - (two's complement wrap-around, defined for unsigned arithmetic).
std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

// io.NewSectionReader's limit for (off, n).
std::int64_t section_limit(std::int64_t off, std::int64_t n) {
  return off <= wrap_sub(k_max_int64, n) ? wrap_add(n, off) : k_max_int64;
}

// os.File.ReadAt: as many of `n` bytes at `off` as the file has (fewer only at its end); 0 for
// a negative offset (Go fails that read, and every caller treats a short read as a failure).
std::size_t read_at(int fd, std::int64_t file_size, std::int64_t off, unsigned char* out,
                    std::size_t n) {
  if (off < 0 || off >= file_size) return 0;
  n = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(n), file_size - off));
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r =
        ::pread(fd, out + done, n - done, static_cast<off_t>(off) + static_cast<off_t>(done));
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "reading zip");
    }
    done += static_cast<std::size_t>(r);
  }
  return done;
}

// Go's readBuf: little-endian fields consumed from the front.
class ReadBuf {
 public:
  ReadBuf(const unsigned char* p, std::size_t n) : m_p(p), m_n(n) {}
  std::size_t size() const { return m_n; }
  const unsigned char* data() const { return m_p; }
  std::uint8_t u8() { return take(1)[0]; }
  std::uint16_t u16() {
    const unsigned char* b = take(2);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  std::uint32_t u32() {
    const unsigned char* b = take(4);
    return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
           static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
  }
  std::uint64_t u64() {
    const std::uint64_t lo = u32();
    return lo | static_cast<std::uint64_t>(u32()) << 32;
  }
  void skip(std::size_t n) { take(n); }
  ReadBuf sub(std::size_t n) {
    const unsigned char* b = take(n);
    return {b, n};
  }

 private:
  const unsigned char* take(std::size_t n) {
    if (n > m_n) throw std::logic_error("zip ReadBuf overrun");  // callers check sizes first
    const unsigned char* b = m_p;
    m_p += n;
    m_n -= n;
    return b;
  }
  const unsigned char* m_p;
  std::size_t m_n;
};

// io.ReadFull's outcomes.
enum class Got { ok, eof, unexpected_eof };

// A buffered sequential reader from `pos` to the end of the file (Go reads the central
// directory through bufio over a SectionReader that ends with the file).
class SeqReader {
 public:
  SeqReader(int fd, std::int64_t file_size, std::int64_t pos)
      : m_fd(fd), m_size(file_size), m_pos(pos), m_buf(k_chunk) {}

  Got read_full(unsigned char* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      if (m_at == m_len) {
        m_at = 0;
        m_len = read_at(m_fd, m_size, m_pos, m_buf.data(), m_buf.size());
        m_pos += static_cast<std::int64_t>(m_len);
        if (m_len == 0) break;
      }
      const std::size_t k = std::min(n - got, m_len - m_at);
      std::memcpy(out + got, m_buf.data() + m_at, k);
      m_at += k;
      got += k;
    }
    if (got == n) return Got::ok;
    return got == 0 ? Got::eof : Got::unexpected_eof;
  }

 private:
  int m_fd;
  std::int64_t m_size;
  std::int64_t m_pos;
  std::vector<unsigned char> m_buf;
  std::size_t m_at = 0;
  std::size_t m_len = 0;
};

// readDirectoryHeader's outcomes: ok, ErrFormat, io.ErrUnexpectedEOF, io.EOF.
enum class Header { ok, format, unexpected_eof, eof };

Header from(Got g) { return g == Got::eof ? Header::eof : Header::unexpected_eof; }

Header read_directory_header(SeqReader& r, ZipEntry& f) {
  unsigned char fixed[k_directory_header_len];
  if (const Got g = r.read_full(fixed, sizeof fixed); g != Got::ok) return from(g);
  ReadBuf b(fixed, sizeof fixed);
  if (b.u32() != k_directory_header_sig) return Header::format;
  b.skip(4);  // creator version, reader version
  f.flags = b.u16();
  f.method = b.u16();
  b.skip(4);  // modified time and date
  f.crc = b.u32();
  const std::uint32_t comp32 = b.u32();
  const std::uint32_t size32 = b.u32();
  f.comp_size = comp32;
  f.size = size32;
  const std::size_t name_len = b.u16();
  const std::size_t extra_len = b.u16();
  const std::size_t comment_len = b.u16();
  b.skip(4);  // start disk number, internal attributes
  b.skip(4);  // external attributes
  const std::uint32_t offset32 = b.u32();
  f.header_offset = offset32;
  std::vector<unsigned char> d(name_len + extra_len + comment_len);
  if (const Got g = r.read_full(d.data(), d.size()); g != Got::ok) return from(g);
  f.name.assign(reinterpret_cast<const char*>(d.data()), name_len);

  bool need_usize = size32 == 0xffffffffu;
  bool need_csize = comp32 == 0xffffffffu;
  bool need_offset = offset32 == 0xffffffffu;
  // Only the ZIP64 field changes what archive/zip reads; the others are timestamps.
  for (ReadBuf extra(d.data() + name_len, extra_len); extra.size() >= 4;) {
    const std::uint16_t tag = extra.u16();
    const std::size_t field_size = extra.u16();
    if (extra.size() < field_size) break;
    ReadBuf field = extra.sub(field_size);
    if (tag != k_zip64_extra_id) continue;
    if (need_usize) {
      need_usize = false;
      if (field.size() < 8) return Header::format;
      f.size = field.u64();
    }
    if (need_csize) {
      need_csize = false;
      if (field.size() < 8) return Header::format;
      f.comp_size = field.u64();
    }
    if (need_offset) {
      need_offset = false;
      if (field.size() < 8) return Header::format;
      f.header_offset = static_cast<std::int64_t>(field.u64());
    }
  }
  // An uncompressed size of 2^32-1 without a ZIP64 field is taken as it is (Go does, for 42.zip).
  if (need_csize || need_offset) return Header::format;
  return Header::ok;
}

// findSignatureInBlock: the last end-of-directory signature whose comment fits in the block;
// -1 when the last one found does not fit (Go gives up on the block then).
std::int64_t find_signature_in_block(const std::vector<unsigned char>& b) {
  if (b.size() < k_directory_end_len) return -1;
  for (std::int64_t i = static_cast<std::int64_t>(b.size() - k_directory_end_len); i >= 0; --i) {
    const auto at = static_cast<std::size_t>(i);
    if (ReadBuf(b.data() + at, 4).u32() == k_directory_end_sig) {
      const std::size_t n = b[at + k_directory_end_len - 2] | b[at + k_directory_end_len - 1] << 8;
      if (n + k_directory_end_len + at > b.size()) return -1;
      return i;
    }
  }
  return -1;
}

struct DirectoryEnd {
  std::uint64_t records = 0;
  std::uint64_t dir_size = 0;
  std::uint64_t dir_offset = 0;
};

// readDirectoryEnd: the end record, its signature searched in the last 1 KiB, else in the last
// 65 KiB. `end_offset` is where it starts.
std::optional<DirectoryEnd> read_directory_end(int fd, std::int64_t size, std::int64_t& end_offset,
                                               std::string& error) {
  std::vector<unsigned char> buf;
  const std::int64_t block_lens[] = {1024, std::int64_t{65} * 1024};
  for (int i = 0;; ++i) {
    const std::int64_t len = std::min(block_lens[i], size);
    buf.resize(static_cast<std::size_t>(len));
    buf.resize(read_at(fd, size, size - len, buf.data(), buf.size()));
    if (const std::int64_t p = find_signature_in_block(buf); p >= 0) {
      buf.erase(buf.begin(), buf.begin() + p);
      end_offset = size - len + p;
      break;
    }
    if (i == 1 || len == size) {
      error = k_err_format;
      return std::nullopt;
    }
  }
  ReadBuf b(buf.data(), buf.size());
  b.skip(4);  // signature
  b.skip(4);  // this disk, directory's disk
  b.skip(2);  // records on this disk
  DirectoryEnd d;
  d.records = b.u16();
  d.dir_size = b.u32();
  d.dir_offset = b.u32();
  // (The comment length was checked by find_signature_in_block.)
  return d;
}

// findDirectory64End and readDirectory64End: when a locator sits right before the end record,
// the ZIP64 end record it points to replaces `d` (and `end_offset`); else ZIP64 is not used.
bool read_directory64_end(int fd, std::int64_t size, std::int64_t& end_offset, DirectoryEnd& d,
                          std::string& error) {
  std::int64_t p = -1;
  if (const std::int64_t loc = end_offset - static_cast<std::int64_t>(k_directory64_loc_len);
      loc >= 0) {
    unsigned char lb[k_directory64_loc_len];
    if (read_at(fd, size, loc, lb, sizeof lb) != sizeof lb) {
      error = "EOF";
      return false;
    }
    ReadBuf l(lb, sizeof lb);
    if (l.u32() == k_directory64_loc_sig && l.u32() == 0) {
      const std::uint64_t off = l.u64();
      if (l.u32() == 1) p = static_cast<std::int64_t>(off);
    }
  }
  if (p < 0) return true;
  end_offset = p;
  unsigned char eb[k_directory64_end_len];
  if (read_at(fd, size, p, eb, sizeof eb) != sizeof eb) {
    error = "EOF";
    return false;
  }
  ReadBuf e(eb, sizeof eb);
  if (e.u32() != k_directory64_end_sig) {
    error = k_err_format;
    return false;
  }
  e.skip(12);  // record size, versions
  e.skip(8);   // this disk, directory's disk
  e.skip(8);   // records on this disk
  d.records = e.u64();
  d.dir_size = e.u64();
  d.dir_offset = e.u64();
  return true;
}

}  // namespace

ZipArchive::ZipArchive(int fd, std::int64_t size)
    : m_fd(fd), m_size(size), m_in(k_chunk), m_out(k_chunk) {}

ZipArchive::ZipArchive(ZipArchive&& o) noexcept
    : m_fd(o.m_fd),
      m_size(o.m_size),
      m_entries(std::move(o.m_entries)),
      m_in(std::move(o.m_in)),
      m_out(std::move(o.m_out)) {
  // A z_stream's state points back at it: never move a live one; start afresh instead.
}

ZipArchive& ZipArchive::operator=(ZipArchive&& o) noexcept {
  if (this != &o) {
    if (m_zs_ready) inflateEnd(&m_zs);
    m_zs = z_stream{};
    m_zs_ready = false;
    m_fd = o.m_fd;
    m_size = o.m_size;
    m_entries = std::move(o.m_entries);
    m_in = std::move(o.m_in);
    m_out = std::move(o.m_out);
  }
  return *this;
}

ZipArchive::~ZipArchive() {
  if (m_zs_ready) inflateEnd(&m_zs);
}

std::optional<ZipArchive> ZipArchive::open(int fd, std::int64_t size, std::string& error) {
  if (size < 0) {
    error = "zip: size cannot be negative";
    return std::nullopt;
  }
  std::int64_t dir_end_offset = 0;
  auto end = read_directory_end(fd, size, dir_end_offset, error);
  if (!end) return std::nullopt;
  DirectoryEnd& d = *end;
  if (d.records == 0xffff || d.dir_size == 0xffff || d.dir_offset == 0xffffffff) {
    if (!read_directory64_end(fd, size, dir_end_offset, d, error)) return std::nullopt;
  }
  if (d.dir_size > static_cast<std::uint64_t>(k_max_int64) ||
      d.dir_offset > static_cast<std::uint64_t>(k_max_int64)) {
    error = k_err_format;
    return std::nullopt;
  }
  const auto dir_size = static_cast<std::int64_t>(d.dir_size);
  const auto dir_offset = static_cast<std::int64_t>(d.dir_offset);
  std::int64_t base_offset = wrap_sub(wrap_sub(dir_end_offset, dir_size), dir_offset);
  if (const std::int64_t o = wrap_add(base_offset, dir_offset); o < 0 || o >= size) {
    error = k_err_format;
    return std::nullopt;
  }
  // A directory found where the end record says, without the base offset, wins.
  if (base_offset > 0) {
    SeqReader probe(fd, size, dir_offset);
    ZipEntry ignored;
    if (read_directory_header(probe, ignored) == Header::ok) base_offset = 0;
  }

  ZipArchive za(fd, size);
  SeqReader r(fd, size, wrap_add(base_offset, dir_offset));
  Header last;
  for (;;) {
    ZipEntry f;
    last = read_directory_header(r, f);
    if (last == Header::format || last == Header::unexpected_eof) break;
    if (last == Header::eof) {
      error = "EOF";
      return std::nullopt;
    }
    f.header_offset = wrap_add(f.header_offset, base_offset);
    za.m_entries.push_back(std::move(f));
  }
  // The record count is a uint16 in most zips: Go compares only 16 bits.
  if (static_cast<std::uint16_t>(za.m_entries.size()) != static_cast<std::uint16_t>(d.records)) {
    error = last == Header::format ? k_err_format : k_err_unexpected_eof;
    return std::nullopt;
  }
  return za;
}

bool ZipArchive::consume(const unsigned char* data, std::size_t n, const ZipEntry& e,
                         const Sink& sink) {
  m_count += n;
  if (m_count > e.size || m_count < n) return false;
  m_crc = crc32(m_crc, data, static_cast<uInt>(n));
  sink(data, n);
  return true;
}

std::optional<std::string> ZipArchive::read(const ZipEntry& e, const Sink& sink) {
  // findBodyOffset: the local header's signature, name and extra lengths; nothing else of it.
  unsigned char lh[k_file_header_len];
  if (read_at(m_fd, m_size, e.header_offset, lh, sizeof lh) != sizeof lh) {
    return e.header_offset < 0 ? "negative offset" : "EOF";
  }
  ReadBuf b(lh, sizeof lh);
  if (b.u32() != k_file_header_sig) return k_err_format;
  b.skip(22);
  const std::int64_t body = static_cast<std::int64_t>(k_file_header_len) + b.u16() + b.u16();

  if (!e.name.empty() && e.name.back() == '/') {
    // Directories have no content; one declaring some fails (compressed bytes are tolerated).
    if (e.size != 0) {
      return k_err_format + " (directory entry declares " + std::to_string(e.size) +
             " bytes of content)";
    }
    return std::nullopt;
  }
  if (e.method != 0 && e.method != 8) {
    return k_err_algorithm + " (unsupported compression method " + std::to_string(e.method) + ")";
  }
  const std::int64_t start = e.header_offset + body;  // both bounded: no overflow
  const auto n = static_cast<std::int64_t>(e.comp_size);
  const std::int64_t limit = section_limit(start, n);

  m_crc = crc32(0, nullptr, 0);
  m_count = 0;
  if (auto err = e.method == 0 ? read_stored(start, limit, e, sink)
                               : read_deflated(start, limit, e, sink)) {
    return err;
  }
  // The decompressor said EOF: checksumReader's end-of-content checks.
  if (m_count != e.size) {
    return k_err_unexpected_eof + " (uncompressed size " + std::to_string(m_count) +
           " differs from declared size " + std::to_string(e.size) + ")";
  }
  if ((e.flags & 0x8) != 0) {
    // readDataDescriptor over a 16-byte section right after the compressed data.
    const std::int64_t at = wrap_add(start, n);
    if (at < 0) return "negative offset";
    const std::int64_t dlimit = section_limit(at, 16);
    unsigned char dd[16];
    const auto avail = [&](std::int64_t pos, std::size_t want) {
      return static_cast<std::size_t>(std::min<std::int64_t>(
          static_cast<std::int64_t>(want), std::max<std::int64_t>(dlimit - pos, 0)));
    };
    std::size_t want = avail(at, 4);
    if (want != 4 || read_at(m_fd, m_size, at, dd, 4) != 4) return k_err_unexpected_eof;
    std::size_t off = 0;
    if (ReadBuf(dd, 4).u32() != k_data_descriptor_sig) off = 4;
    const std::size_t rest = 12 - off;
    want = avail(at + 4, rest);
    if (want != rest || read_at(m_fd, m_size, at + 4, dd + off, rest) != rest) {
      return k_err_unexpected_eof;
    }
    if (ReadBuf(dd, 4).u32() != e.crc) return k_err_checksum;
    if (m_crc != e.crc) return k_err_checksum;
  } else if (e.crc != 0 && m_crc != e.crc) {
    return k_err_checksum;
  }
  return std::nullopt;
}

std::optional<std::string> ZipArchive::read_stored(std::int64_t start, std::int64_t limit,
                                                   const ZipEntry& e, const Sink& sink) {
  for (std::int64_t pos = start; pos < limit;) {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(m_in.size()), limit - pos));
    const std::size_t got = read_at(m_fd, m_size, pos, m_in.data(), want);
    if (got == 0) break;  // the end of the file: EOF
    if (!consume(m_in.data(), got, e, sink)) return too_large(e);
    pos += static_cast<std::int64_t>(got);
  }
  return std::nullopt;
}

std::optional<std::string> ZipArchive::read_deflated(std::int64_t start, std::int64_t limit,
                                                     const ZipEntry& e, const Sink& sink) {
  if (!m_zs_ready) {
    // Raw deflate (no zlib header), as zip method 8 stores it.
    const int rc = inflateInit2(&m_zs, -MAX_WBITS);
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) throw std::logic_error("inflateInit2 failed");
    m_zs_ready = true;
  } else if (inflateReset(&m_zs) != Z_OK) {
    throw std::logic_error("inflateReset failed");
  }
  z_stream& zs = m_zs;
  zs.avail_in = 0;
  std::int64_t pos = start;
  bool output_full = false;  // inflate may hold more output without needing more input
  for (;;) {
    if (zs.avail_in == 0 && !output_full) {
      std::size_t got = 0;
      if (pos < limit) {
        const auto want = static_cast<std::size_t>(
            std::min<std::int64_t>(static_cast<std::int64_t>(m_in.size()), limit - pos));
        got = read_at(m_fd, m_size, pos, m_in.data(), want);
      }
      // The compressed data ends (section or file) before the deflate stream does.
      if (got == 0) return k_err_unexpected_eof;
      pos += static_cast<std::int64_t>(got);
      zs.next_in = m_in.data();
      zs.avail_in = static_cast<uInt>(got);
    }
    zs.next_out = m_out.data();
    zs.avail_out = static_cast<uInt>(m_out.size());
    const int rc = ::inflate(&zs, Z_NO_FLUSH);
    output_full = zs.avail_out == 0;
    const std::size_t produced = m_out.size() - zs.avail_out;
    if (produced != 0 && !consume(m_out.data(), produced, e, sink)) return too_large(e);
    if (rc == Z_STREAM_END) return std::nullopt;
    if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_in == 0 && !output_full)) continue;
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    return std::string("flate: corrupt input: ") + (zs.msg != nullptr ? zs.msg : "error");
  }
}

}  // namespace stoa::modzip::detail
