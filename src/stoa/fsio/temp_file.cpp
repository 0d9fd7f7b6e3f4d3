#include "stoa/fsio/temp_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

namespace stoa::fsio {
namespace {

[[noreturn]] void fail(int err, std::string_view what, const std::filesystem::path& path) {
  std::string message(what);
  message += ' ';
  message += path.native();
  throw std::system_error(err, std::generic_category(), message);
}

}  // namespace

TempFile TempFile::create(const std::filesystem::path& dir, std::string_view prefix) {
  std::string name = (dir / prefix).native();
  name += "XXXXXX";
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) fail(errno, "create temp file", name);
  TempFile file;
  file.m_fd.reset(fd);
  file.m_path = std::move(name);
  // mkostemp creates 0600; the contract is 0644 so that a store's tree is readable by others.
  if (::fchmod(fd, 0644) != 0) fail(errno, "chmod", file.m_path);
  return file;
}

TempFile::TempFile(TempFile&& o) noexcept
    : m_path(std::exchange(o.m_path, {})),
      m_fd(std::move(o.m_fd)),
      m_size(std::exchange(o.m_size, 0)) {}

TempFile& TempFile::operator=(TempFile&& o) noexcept {
  if (this != &o) {
    if (!m_path.empty()) (void)::unlink(m_path.c_str());
    m_path = std::exchange(o.m_path, {});
    m_fd = std::move(o.m_fd);
    m_size = std::exchange(o.m_size, 0);
  }
  return *this;
}

TempFile::~TempFile() {
  if (!m_path.empty()) (void)::unlink(m_path.c_str());
}

void TempFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(m_fd.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "write", m_path);
    }
    if (n == 0) fail(EIO, "write (no progress)", m_path);
    m_size += static_cast<std::uint64_t>(n);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void TempFile::sync() {
  if (::fsync(m_fd.get()) != 0) fail(errno, "fsync", m_path);
}

std::filesystem::path TempFile::release() {
  m_fd.reset();
  m_size = 0;
  return std::exchange(m_path, {});
}

void TempFile::clear() {
  if (::ftruncate(m_fd.get(), 0) != 0) fail(errno, "truncate", m_path);
  if (::lseek(m_fd.get(), 0, SEEK_SET) < 0) fail(errno, "seek", m_path);
  m_size = 0;
}

void sync_directory(const std::filesystem::path& dir) {
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0) fail(errno, "fsync directory", dir);
}

}  // namespace stoa::fsio
