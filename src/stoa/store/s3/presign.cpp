// Presigned GET redirects (s3.hpp make_s3_redirector): a HEAD through the client, then a URL
// signed by sigv4::presigned_query.

#include <chrono>
#include <string>

#include "stoa/store/keys.hpp"
#include "stoa/store/s3/client.hpp"
#include "stoa/store/s3/s3.hpp"
#include "stoa/store/s3/sigv4.hpp"

namespace stoa::store {

namespace {

class S3Redirector final : public Redirector {
 public:
  S3Redirector(const S3Options& o, std::chrono::seconds ttl) : m_client(o), m_ttl(ttl) {}

  std::optional<std::string> locate(const std::string& key) override {
    if (!keys::is_valid(key)) s3::fail("locate: invalid key " + keys::printable(key));
    if (!m_client.exists(key)) return std::nullopt;
    return presign_get(key, std::chrono::system_clock::now());
  }

 private:
  // A presigned GET of `key` valid for m_ttl from `now`.
  std::string presign_get(const std::string& key, std::chrono::system_clock::time_point now) const {
    const S3Options& o = m_client.options();
    const std::string amz_date = s3::sigv4::amz_date(now);
    const s3::sigv4::Scope scope{amz_date.substr(0, 8), o.region, "s3"};
    // base() is scheme://host[:port][/base path]
    const std::string& base = m_client.base();
    const std::size_t host_start = base.find("://") + 3;
    const std::size_t path_start = base.find('/', host_start);
    const std::string host = base.substr(host_start, path_start - host_start);
    const std::string base_path = path_start == std::string::npos ? "" : base.substr(path_start);
    const std::string path = m_client.object_path(key);
    const std::string query =
        s3::sigv4::presigned_query({o.access_key, o.secret_key, o.session_token}, scope, amz_date,
                                   "GET", host, base_path + path, m_ttl);
    return base + path + "?" + query;
  }

  s3::Client m_client;  // only HEADs
  std::chrono::seconds m_ttl;
};

}  // namespace

std::unique_ptr<Redirector> make_s3_redirector(const S3Options& options, std::chrono::seconds ttl) {
  if (ttl.count() <= 0) throw StoreError("s3 store: presigned URL lifetime must be positive");
  return std::make_unique<S3Redirector>(options, ttl);
}

}  // namespace stoa::store
