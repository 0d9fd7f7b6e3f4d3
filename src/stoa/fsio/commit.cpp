#include "stoa/fsio/commit.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cstdio>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28)

#include <cerrno>
#include <string>
#include <system_error>

namespace stoa::fsio {
namespace {

[[noreturn]] void fail(int err, const char* what, const char* from, const char* to) {
  throw std::system_error(err, std::generic_category(),
                          std::string(what) + " " + from + " -> " + to);
}

}  // namespace

Placed rename_no_replace(int from_dirfd, const char* from, int to_dirfd, const char* to) {
  if (::renameat2(from_dirfd, from, to_dirfd, to, RENAME_NOREPLACE) == 0) return Placed::committed;
  const int err = errno;
  if (err == EEXIST) return Placed::existed;
  if (err == EINVAL || err == ENOSYS) return link_no_replace(from_dirfd, from, to_dirfd, to);
  fail(err, "rename", from, to);
}

Placed link_no_replace(int from_dirfd, const char* from, int to_dirfd, const char* to) {
  if (::linkat(from_dirfd, from, to_dirfd, to, 0) != 0) {
    const int err = errno;
    if (err == EEXIST) return Placed::existed;
    fail(err, "link", from, to);
  }
  // The object is committed; a failing unlink only leaves a second name for the temp file.
  (void)::unlinkat(from_dirfd, from, 0);
  return Placed::committed;
}

}  // namespace stoa::fsio
