#pragma once
// Private to the object-store backends (s3/, azure/): the two ends of one libcurl transfer's
// body. A response body kept in memory, or streamed into an unlinked file of a spool directory
// when it is (or may be) big; and a request body sent from memory or read with pread from a
// staged file. Each object is used by one transfer at a time.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/curl/transfer.hpp"
#include "stoa/fsio/unique_fd.hpp"

namespace stoa::store::http_body {

// A 200 body goes to `file` (an O_TMPFILE in `spool_dir`, its size in `file_size`) unless its
// Content-Length says at most `spool_over` bytes; then, and for every other status, to `bytes`.
// `spool_over` 0: always `bytes`. A failed write throws StoreError("<label>: write spool file:
// ...").
class SpoolSink final : public curl::Sink {
 public:
  SpoolSink(std::string label, std::uint64_t spool_over, const std::filesystem::path& spool_dir,
            std::string& bytes, fsio::UniqueFd& file, std::uint64_t& file_size)
      : m_label(std::move(label)),
        m_spool_over(spool_over),
        m_spool_dir(spool_dir),
        m_bytes(bytes),
        m_file(file),
        m_file_size(file_size) {}

  std::optional<std::string> start(const curl::Response& http) override;
  void append(std::string_view bytes) override;
  void clear() override;

 private:
  std::string m_label;
  std::uint64_t m_spool_over;
  const std::filesystem::path& m_spool_dir;
  std::string& m_bytes;
  fsio::UniqueFd& m_file;
  std::uint64_t& m_file_size;
};

// A request body for CURLOPT_READFUNCTION (read_upload) with CURLOPT_READDATA = this:
// `bytes` when set, else `length` bytes of `fd` from `offset`.
struct Upload {
  const std::string* bytes = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t sent = 0;
  std::string error;  // why reading stopped (a short or failed read of the staged file)

  std::uint64_t size() const { return bytes != nullptr ? bytes->size() : length; }
};

std::size_t read_upload(char* buf, std::size_t size, std::size_t n, void* user);

}  // namespace stoa::store::http_body
