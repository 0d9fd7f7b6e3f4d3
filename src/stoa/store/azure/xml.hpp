#pragma once
// The XML documents of the Blob service that stoa reads and writes, over pugixml. Pure; never
// throw but std::bad_alloc. Untrusted input (server answers) gives empty or nullopt results,
// never a crash.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::store::azure::xml {

// <Error><Code>..</Code><Message>..</Message></Error>; both empty when `body` is not one.
struct ErrorDocument {
  std::string code;
  std::string message;
};
ErrorDocument parse_error(std::string_view body);

// One page of List Blobs (EnumerationResults).
struct ListPage {
  std::vector<std::string> names;  // Blobs/Blob/Name, in document order (not BlobPrefix)
  std::string next_marker;         // NextMarker; empty on the last page
};
// nullopt when `body` is not an EnumerationResults, or names a blob in encoded form
// (<Name Encoded="true">: a name with characters XML cannot hold, never one of stoa's).
std::optional<ListPage> parse_list_page(std::string_view body);

// <BlockList> committing these block ids (<Latest>), in order.
std::string block_list(const std::vector<std::string>& block_ids);

}  // namespace stoa::store::azure::xml
