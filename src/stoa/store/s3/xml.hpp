#pragma once
// The XML documents of the S3 API that stoa reads and writes, over pugixml. Pure; never throw
// but std::bad_alloc. Untrusted input (server answers) gives empty or nullopt results, never a
// crash.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::store::s3::xml {

// <Error><Code>..</Code><Message>..</Message></Error>; both empty when `body` is not one.
struct ErrorDocument {
  std::string code;
  std::string message;
};
ErrorDocument parse_error(std::string_view body);

// InitiateMultipartUploadResult/UploadId; empty when absent or unreadable.
std::string parse_upload_id(std::string_view body);

// One page of ListObjectsV2 (ListBucketResult).
struct ListPage {
  std::vector<std::string> keys;  // Contents/Key, in document order
  bool truncated = false;         // IsTruncated is "true"
  std::string next_token;         // NextContinuationToken
};
// nullopt when `body` is not a ListBucketResult.
std::optional<ListPage> parse_list_page(std::string_view body);

// <CompleteMultipartUpload> naming parts 1..n with these ETags, in order.
std::string complete_multipart_upload(const std::vector<std::string>& etags);

// `s` with & < > " escaped, for element text.
std::string escape(std::string_view s);

}  // namespace stoa::store::s3::xml
