#include "stoa/store/testing/gcs_server.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/store/testing/server_process.hpp"

namespace stoa::store::testing {

namespace fs = std::filesystem;

GcsServer& GcsServer::shared() {
  static GcsServer server;
  return server;
}

GcsServer::GcsServer() {
  const std::string bin = find_program("fake-gcs-server", "STOA_FAKE_GCS_SERVER");
  m_port = pick_loopback_port();
  const fs::path root = m_dir / "storage";
  fs::create_directories(root);
  // The external URL is the base of the resumable session URLs it hands out.
  m_pid = spawn_server({bin, "-backend", "filesystem", "-filesystem-root", root.native(), "-scheme",
                        "http", "-host", "127.0.0.1", "-port", std::to_string(m_port),
                        "-external-url", endpoint(), "-log-level", "error"},
                       (m_dir / "fake-gcs-server.log").native(), m_port);
}

GcsServer::~GcsServer() { stop_server(m_pid); }

std::string GcsServer::make_bucket() {
  const std::string name =
      "stoa-test-" + std::to_string(::getpid()) + "-" + std::to_string(m_buckets.fetch_add(1));
  const std::string url = endpoint() + "/storage/v1/b?project=stoa-test";
  const std::string body = R"({"name":")" + name + R"("})";
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  curl::set(h.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl::Slist headers;
  curl::append(headers, "Content-Type: application/json");
  curl::set(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl::DiscardSink sink;
  const curl::Result r = curl::perform(h.get(), sink, curl::Options{});
  if (!r.ok() || r.response.status != 200) {
    throw std::runtime_error("create bucket " + name + ": " + r.error + " HTTP " +
                             std::to_string(r.response.status));
  }
  return name;
}

GcsOptions GcsServer::options(const std::string& bucket, const fs::path& spool) const {
  GcsOptions o;
  o.endpoint = endpoint();
  o.bucket = bucket;
  o.auth = GcsAuth::none;
  o.spool_dir = spool;
  o.resumable_over = std::uint64_t{8} << 20;
  o.chunk_size = std::uint64_t{8} << 20;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

}  // namespace stoa::store::testing
