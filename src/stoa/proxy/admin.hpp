#pragma once
// The admin listener's endpoints (off by default; bind it to a private address):
//   /healthz /readyz /metrics   as on the main listener
//   /index /catalog             as on the main listener (what the client's credentials may read),
//                               whatever operational_endpoints says about the main listener
//   /admin/fetches              upstream fetches in flight, one key per line
//   /admin/config               the effective configuration, secrets redacted
//   /admin/store                what this process committed, and the data filesystem's space (JSON)
// Thread-safe; answers are immediate.

#include <optional>
#include <string>

#include "stoa/proxy/response.hpp"
#include "stoa/proxy/service.hpp"

namespace stoa::proxy {

struct AdminOptions {
  std::string effective_config;  // already redacted
  std::string data_dir;          // for filesystem space; empty for the memory store
};

class Admin {
 public:
  Admin(AdminOptions options, Service& service);
  std::optional<Response> respond_now(const HttpRequest& req);
  Handler handler();

 private:
  AdminOptions m_options;
  Service& m_service;
};

}  // namespace stoa::proxy
