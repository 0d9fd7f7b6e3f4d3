#pragma once
// A temporary file that is removed unless it is committed. Used to stage downloads before a
// store commits them: fetchers write to it, validators read it by path, Store::put consumes it.
// Not thread-safe; move-only.

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "stoa/fsio/unique_fd.hpp"

namespace stoa::fsio {

class TempFile {
 public:
  // Creates "<dir>/<prefix>XXXXXX" (O_RDWR|O_CLOEXEC, mode 0644). Throws std::system_error.
  static TempFile create(const std::filesystem::path& dir, std::string_view prefix = "tmp-");

  TempFile() = default;
  TempFile(TempFile&&) noexcept;
  TempFile& operator=(TempFile&&) noexcept;
  ~TempFile();  // unlinks the file if still owned

  const std::filesystem::path& path() const { return m_path; }
  int fd() const { return m_fd.get(); }
  std::uint64_t size() const { return m_size; }

  // Appends bytes at the file offset (the end, unless someone moved it through fd()), looping
  // over partial writes and EINTR. size() counts the bytes written through this method.
  // Throws std::system_error (ENOSPC, EFBIG included); size() then counts what was written.
  void write(std::string_view bytes);
  // fsync(2) the file's data. Throws std::system_error.
  void sync();
  // Gives up ownership after a rename/link: closes the descriptor and returns the path, which the
  // destructor no longer removes. The object is empty afterwards.
  std::filesystem::path release();
  // Truncates to zero length, keeping the file (for a retry against the next upstream).
  void clear();

 private:
  std::filesystem::path m_path;
  UniqueFd m_fd;
  std::uint64_t m_size = 0;
};

// fsync(2) a directory so that a rename or link in it is durable. Throws std::system_error.
void sync_directory(const std::filesystem::path& dir);

}  // namespace stoa::fsio
