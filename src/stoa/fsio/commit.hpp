#pragma once
// Placing a finished file under its final name without ever replacing an existing one: the
// primitive behind write-once stores. Thread-safe (plain syscalls, no state).

namespace stoa::fsio {

enum class Placed {
  committed,  // `to` now names the file; `from` is gone
  existed,    // `to` already existed and is unchanged; `from` is left in place for the caller
};

// renameat2(RENAME_NOREPLACE), falling back to link_no_replace() on filesystems or kernels that
// do not support the flag (EINVAL, ENOSYS). Paths are relative to the directory fds (AT_FDCWD
// for the working directory) as in renameat(2). Throws std::system_error naming both paths.
Placed rename_no_replace(int from_dirfd, const char* from, int to_dirfd, const char* to);

// link(2) then unlink(2) of `from`: atomic no-replace placement on filesystems with hard links.
// A crash between the two leaves an extra name for `from` (a temp file; swept by its owner).
Placed link_no_replace(int from_dirfd, const char* from, int to_dirfd, const char* to);

}  // namespace stoa::fsio
