#include "stoa/proxy/vulndb_endpoint.hpp"

#include "stoa/proxy/conditional.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/vulndb/mirror.hpp"

namespace stoa::proxy {

namespace {
constexpr std::string_view k_prefix = "/vulndb/";
}

bool VulndbEndpoint::is_target(std::string_view target) {
  return target == "/vulndb" || target.starts_with(k_prefix);
}

Response VulndbEndpoint::respond(const HttpRequest& req) const {
  const auto snapshot = m_mirror != nullptr ? m_mirror->current() : nullptr;
  if (snapshot == nullptr) {
    return error_response(404, "not found: no vulnerability database is mirrored here",
                          Outcome::not_found);
  }
  std::string_view name = req.target;
  name.remove_prefix(std::min(name.size(), k_prefix.size()));
  const bool gz = name.ends_with(".json.gz");
  const vulndb::Snapshot::File* f = nullptr;
  if (gz || name.ends_with(".json")) {
    f = snapshot->find(name.substr(0, name.size() - (gz ? 8 : 5)));
  }
  if (f == nullptr) {
    return error_response(404, "not found: not a document of the vulnerability database",
                          Outcome::not_found);
  }
  Response r;
  r.etag = gz ? f->etag_gz : f->etag_json;
  r.cache_control = "public, max-age=60";
  r.content_type = gz ? "application/gzip" : "application/json";
  r.outcome = Outcome::hit;
  r.endpoint = "vulndb";
  if (!req.if_none_match.empty() && if_none_match_matches(req.if_none_match, r.etag)) {
    r.status = 304;
    return r;
  }
  r.body = gz ? f->gz : f->json;
  return r;
}

}  // namespace stoa::proxy
