#pragma once
// Conditional creates of one object over the client: one PUT, or a multipart upload read from a
// file with pread and aborted on failure, the condition (If-None-Match: *) on the PUT or on
// CompleteMultipartUpload; and the probe that finds out whether a server honours that condition.

#include <cstdint>
#include <string>

#include "stoa/store/s3/client.hpp"

namespace stoa::store::s3 {

// PUT of the `size` bytes of `fd` at `key`. true: created; false: 412 (the key existed, with
// `conditional`). Throws StoreError otherwise.
bool put_object(Client& client, const std::string& key, int fd, std::uint64_t size,
                bool conditional);

// The same as a multipart upload in parts of options().part_size. false when the key existed
// (412 or PreconditionFailed on completion; or a retried completion that finds the upload gone
// and the key present). Throws StoreError otherwise, after aborting the upload.
bool put_multipart(Client& client, const std::string& key, int fd, std::uint64_t size,
                   bool conditional);

struct ConditionalWrites {
  bool put = false;        // a second conditional PUT of one key answers 412
  bool multipart = false;  // so does a conditional CompleteMultipartUpload
};

// Writes (twice) and deletes one object under "<prefix>.stoa-probe/". Throws StoreError when
// the bucket cannot be written.
ConditionalWrites probe_conditional_writes(Client& client);

}  // namespace stoa::store::s3
