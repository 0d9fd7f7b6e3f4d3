#include "stoa/vulndb/gzip.hpp"

#include <zlib.h>

#include <array>
#include <limits>
#include <memory>
#include <new>

namespace stoa::vulndb {
namespace {

constexpr int k_gzip_window = 15 + 16;  // zlib: a gzip wrapper around a 32 KiB window
constexpr std::size_t k_chunk = 64 << 10;

struct DeflateEnd {
  void operator()(z_stream* z) const { deflateEnd(z); }
};
struct InflateEnd {
  void operator()(z_stream* z) const { inflateEnd(z); }
};

// zlib's sizes are 32-bit: a long input is fed in slices.
uInt slice(std::size_t left) {
  return static_cast<uInt>(std::min<std::size_t>(left, std::numeric_limits<uInt>::max()));
}

}  // namespace

std::string gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, k_gzip_window, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();
  }
  const std::unique_ptr<z_stream, DeflateEnd> guard(&zs);
  std::string out;
  std::array<unsigned char, k_chunk> buf{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): zlib's next_in is not const
  auto* in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t left = data.size();
  int rc = Z_OK;
  do {
    if (zs.avail_in == 0 && left > 0) {
      zs.next_in = in;
      zs.avail_in = slice(left);
      in += zs.avail_in;
      left -= zs.avail_in;
    }
    zs.next_out = buf.data();
    zs.avail_out = buf.size();
    rc = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) throw std::bad_alloc();
    out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - zs.avail_out);
  } while (rc != Z_STREAM_END);
  return out;
}

std::optional<std::string> gunzip(std::string_view data, std::size_t max_size, std::string& error) {
  std::string out;
  std::array<unsigned char, k_chunk> buf{};
  std::size_t pos = 0;
  bool first = true;
  // One member after another until the input ends, as gzip.Reader's multistream mode.
  while (first || pos < data.size()) {
    first = false;
    z_stream zs{};
    if (inflateInit2(&zs, k_gzip_window) != Z_OK) throw std::bad_alloc();
    const std::unique_ptr<z_stream, InflateEnd> guard(&zs);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): zlib's next_in is not const
    auto* in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + pos));
    std::size_t left = data.size() - pos;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (zs.avail_in == 0) {
        if (left == 0) {
          error = "gzip data cut short";
          return std::nullopt;
        }
        zs.next_in = in;
        zs.avail_in = slice(left);
        in += zs.avail_in;
        left -= zs.avail_in;
      }
      zs.next_out = buf.data();
      zs.avail_out = buf.size();
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_MEM_ERROR) throw std::bad_alloc();
      if (rc != Z_OK && rc != Z_STREAM_END) {
        error = "not valid gzip data";
        if (zs.msg != nullptr) error += std::string(": ") + zs.msg;
        return std::nullopt;
      }
      const std::size_t n = buf.size() - zs.avail_out;
      if (out.size() + n > max_size) {
        error = "gzip data decompresses to more than " + std::to_string(max_size) + " bytes";
        return std::nullopt;
      }
      out.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    pos = data.size() - left - zs.avail_in;
  }
  return out;
}

}  // namespace stoa::vulndb
