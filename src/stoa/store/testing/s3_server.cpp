#include "stoa/store/testing/s3_server.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/store/testing/server_process.hpp"

namespace stoa::store::testing {
namespace fs = std::filesystem;

S3Server& S3Server::shared() {
  static S3Server server;
  return server;
}

S3Server::S3Server() {
  const std::string bin = find_program("versitygw", "STOA_VERSITYGW");
  m_port = pick_loopback_port();
  const fs::path root = m_dir / "gw";
  fs::create_directories(root);
  m_pid = spawn_server(
      {bin, "--access", k_access, "--secret", k_secret, "--port",
       "127.0.0.1:" + std::to_string(m_port), "--keep-alive", "--quiet", "posix", root.native()},
      (m_dir / "versitygw.log").native(), m_port);
}

S3Server::~S3Server() { stop_server(m_pid); }

std::string S3Server::make_bucket() {
  const std::string name =
      "stoa-test-" + std::to_string(::getpid()) + "-" + std::to_string(m_buckets.fetch_add(1));
  const std::string url = endpoint() + "/" + name;
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  curl::set(h.get(), CURLOPT_CUSTOMREQUEST, "PUT");
  curl::set(h.get(), CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl::set(h.get(), CURLOPT_USERNAME, k_access);
  curl::set(h.get(), CURLOPT_PASSWORD, k_secret);
  curl::Slist headers;
  curl::append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  curl::set(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl::DiscardSink sink;
  const curl::Result r = curl::perform(h.get(), sink, curl::Options{});
  if (!r.ok() || r.response.status != 200) {
    throw std::runtime_error("create bucket " + name + ": " + r.error + " HTTP " +
                             std::to_string(r.response.status));
  }
  return name;
}

S3Options S3Server::options(const std::string& bucket, const fs::path& spool) const {
  S3Options o;
  o.endpoint = endpoint();
  o.bucket = bucket;
  o.access_key = k_access;
  o.secret_key = k_secret;
  o.spool_dir = spool;
  o.part_size = std::uint64_t{8} << 20;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

std::pair<long, std::string> plain_get(const std::string& url) {
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  std::string body;
  curl::StringSink sink(body);
  curl::Options options;
  options.accept = [](long) { return true; };  // the body of any status
  const curl::Result r = curl::perform(h.get(), sink, options);
  return {r.ok() ? r.response.status : 0L, body};
}

}  // namespace stoa::store::testing
