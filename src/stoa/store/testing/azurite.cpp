#include "stoa/store/testing/azurite.hpp"

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "stoa/store/azure/client.hpp"
#include "stoa/store/testing/server_process.hpp"

namespace stoa::store::testing {

namespace fs = std::filesystem;

Azurite& Azurite::shared() {
  static Azurite server;
  return server;
}

Azurite::Azurite() {
  const std::string bin = find_program("azurite-blob", "STOA_AZURITE");
  m_port = pick_loopback_port();
  const fs::path data = m_dir / "data";
  fs::create_directories(data);
  // --silent: no access log. --disableTelemetry: by default Azurite collects telemetry, and its
  // client probes the cloud's instance metadata address (169.254.169.254) at start and waits
  // for it at exit; a test server talks to loopback only. No --loose and no
  // --skipApiVersionCheck: stoa's requests must be ones the emulator accepts in its strict mode,
  // at an API version it knows. Up to two minutes to start: Node.js loads Azurite in 15 s on a
  // busy machine.
  m_pid = spawn_server({bin, "--blobHost", "127.0.0.1", "--blobPort", std::to_string(m_port),
                        "--location", data.native(), "--silent", "--disableTelemetry"},
                       (m_dir / "azurite.log").native(), m_port, std::chrono::seconds(120));
}

Azurite::~Azurite() { stop_server(m_pid); }

std::string Azurite::make_container() {
  const std::string name =
      "stoa-" + std::to_string(::getpid()) + "-" + std::to_string(m_containers.fetch_add(1));
  azure::Client client(options(name, m_dir / "unused"));
  azure::Request q;
  q.method = "PUT";
  q.query = {{"restype", "container"}};
  q.what = "Create Container " + name;
  const azure::Response r = client.perform(q);
  if (r.status != 201) throw std::runtime_error(q.what + ": " + azure::describe(r));
  return name;
}

AzureOptions Azurite::options(const std::string& container, const fs::path& spool) const {
  AzureOptions o;
  o.endpoint = endpoint();
  o.account = k_account;
  o.account_key = k_key;
  o.container = container;
  o.spool_dir = spool;
  o.block_size = std::uint64_t{8} << 20;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

}  // namespace stoa::store::testing
