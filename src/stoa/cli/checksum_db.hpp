#pragma once
// Which checksum database stoa verifies against, from a GOSUMDB-style value. Pure; unit-tested.
//
// Forms (the go command's): "off"; "<name>" for a database whose key the go command knows;
// "<name>+<hash>+<keydata>" (a verifier key); "<key> <url>" (a key and the database's own URL).
// Without a URL the database is reached through the upstream proxies' /sumdb/<name>/ endpoint,
// as the go command itself does when its GOPROXY supports it.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::cli {

struct ChecksumDb {
  std::string name;
  std::string key;  // verifier key "<name>+<hash>+<keydata>"
  std::string url;  // empty: through the upstream proxies
};

using KnownKeys = std::map<std::string, std::string, std::less<>>;

struct ChecksumDbSetting {
  bool off = false;
  std::optional<ChecksumDb> db;  // set unless off or error
  std::string error;             // non-empty when the value is malformed
};

ChecksumDbSetting parse_checksum_db(std::string_view value, const KnownKeys& known);

// The database keys the go command knows, read from its source file
// $GOROOT/src/cmd/go/internal/modfetch/key.go (entries `"<name>": "<key>",`). stoa carries no key
// of its own: the default comes from the go command installed beside it.
KnownKeys known_keys_from_go_source(std::string_view key_go);

}  // namespace stoa::cli
