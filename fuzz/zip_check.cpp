// check_zip on arbitrary bytes, written to a file, for module example.com/mod at v1.0.0 (the
// seeds under corpus/zip_check use that prefix). It must not crash, leak or throw for any
// content: std::system_error is for I/O failures only, and the file is always readable.
// An accepted zip has an h1: hash and no problems; a refused one has problems and no hash.

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>

#include "check.hpp"
#include "stoa/modzip/modzip.hpp"

namespace {

using stoa::fuzz::require;

constexpr std::string_view k_module = "example.com/mod";
constexpr std::string_view k_version = "v1.0.0";

// One in-memory file per process (memfd: no disk writes, nothing left behind), rewritten for every
// input and given to check_zip by its /proc/self/fd path. On ext4 a temp file truncated and
// rewritten per input gets flushed to disk on every close, which made the target I/O-bound.
class ScratchFile {
 public:
  ScratchFile() : m_fd(::memfd_create("stoa-fuzz-zip", MFD_CLOEXEC)) {
    if (m_fd < 0) stoa::fuzz::fail("memfd_create failed", std::strerror(errno));
    m_path = "/proc/self/fd/" + std::to_string(m_fd);
  }
  ~ScratchFile() { ::close(m_fd); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(const std::uint8_t* data, std::size_t size) {
    require(::ftruncate(m_fd, 0) == 0, "ftruncate failed", std::strerror(errno));
    std::size_t done = 0;
    while (done < size) {
      const auto n = ::pwrite(m_fd, data + done, size - done, static_cast<off_t>(done));
      require(n > 0, "pwrite failed", std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    return m_path;
  }

 private:
  int m_fd;
  std::string m_path;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ScratchFile scratch;
  const std::string& path = scratch.write(data, size);
  stoa::modzip::ZipCheck result;
  try {
    result = stoa::modzip::check_zip(path, k_module, k_version);
  } catch (const std::system_error& e) {
    stoa::fuzz::fail("check_zip threw std::system_error on a readable file", e.what());
  }
  if (result.ok()) {
    // "h1:" + base64 of a SHA-256.
    require(result.h1.size() == 3 + 44 && result.h1.starts_with("h1:") && result.h1.ends_with("="),
            "an accepted zip has no well-formed h1: hash", result.h1);
  } else {
    require(result.h1.empty(), "a refused zip has an h1: hash", result.h1);
    // Problems quote entry names as they are (x/mod does too), so they may hold any byte; only
    // emptiness is checked here.
    for (const auto& p : result.problems) require(!p.empty(), "an empty problem line");
  }
  return 0;
}
