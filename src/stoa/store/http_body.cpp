#include "stoa/store/http_body.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "stoa/store/store.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::store::http_body {

namespace {

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

std::optional<std::string> SpoolSink::start(const curl::Response& http) {
  if (http.status != 200 || m_spool_over == 0) return std::nullopt;
  const std::string* length = http.header("content-length");
  const std::optional<std::uint64_t> n =
      length != nullptr ? text::parse_u64(*length) : std::nullopt;
  if (n && *n <= m_spool_over) return std::nullopt;
  m_file.reset(::open(m_spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!m_file) {
    return "spool file in " + m_spool_dir.native() + ": " + std::generic_category().message(errno);
  }
  return std::nullopt;
}

void SpoolSink::append(std::string_view bytes) {
  if (!m_file) {
    m_bytes.append(bytes);
    return;
  }
  if (!write_all(m_file.get(), bytes.data(), bytes.size())) {
    throw StoreError(m_label + ": write spool file: " + std::generic_category().message(errno));
  }
  m_file_size += bytes.size();
}

void SpoolSink::clear() {
  m_bytes.clear();
  m_file.reset();
  m_file_size = 0;
}

std::size_t read_upload(char* buf, std::size_t size, std::size_t n, void* user) {
  auto& u = *static_cast<Upload*>(user);
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(size * n, u.size() - u.sent));
  if (want == 0) return 0;
  if (u.bytes != nullptr) {
    std::memcpy(buf, u.bytes->data() + u.sent, want);
    u.sent += want;
    return want;
  }
  ssize_t r = 0;
  do {
    r = ::pread(u.fd, buf, want, static_cast<off_t>(u.offset + u.sent));
  } while (r < 0 && errno == EINTR);
  if (r <= 0) {
    u.error = r == 0 ? std::string("staged file shorter than its size")
                     : "read staged file: " + std::generic_category().message(errno);
    return CURL_READFUNC_ABORT;
  }
  u.sent += static_cast<std::uint64_t>(r);
  return static_cast<std::size_t>(r);
}

}  // namespace stoa::store::http_body
