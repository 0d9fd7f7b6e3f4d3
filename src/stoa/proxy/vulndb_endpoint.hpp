#pragma once
// /vulndb/: the mirrored Go vulnerability database (vulndb/mirror.hpp) in its published layout,
// so `govulncheck -db <stoa>/vulndb` works without reaching anything else:
//   /vulndb/index/db.json, /vulndb/index/modules.json, /vulndb/index/vulns.json,
//   /vulndb/ID/<id>.json, and each also as .json.gz (what govulncheck asks for).
// Answers come from the snapshot in force, taken once per request (an answer is never made of
// two databases); a strong ETag per file, 304 on If-None-Match. No database mirrored, or a
// document it does not have: 404. Nothing here touches the file system: names are looked up
// in the snapshot's map, so no request name can reach a path.
//
// Thread-safe; lock-free (one atomic load of the snapshot). `mirror` may be null (none
// configured) and must outlive the endpoint.

#include <string_view>

#include "stoa/proxy/response.hpp"

namespace stoa::vulndb {
class Mirror;
}

namespace stoa::proxy {

class VulndbEndpoint {
 public:
  explicit VulndbEndpoint(const vulndb::Mirror* mirror) : m_mirror(mirror) {}

  static bool is_target(std::string_view target);
  Response respond(const HttpRequest& req) const;

 private:
  const vulndb::Mirror* m_mirror;
};

}  // namespace stoa::proxy
