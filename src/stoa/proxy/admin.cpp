#include "stoa/proxy/admin.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>

namespace stoa::proxy {
namespace {

Response plain(int status, std::string body, std::string_view type = "text/plain; charset=utf-8") {
  Response r;
  r.status = status;
  r.content_type = type;
  r.cache_control = "no-store";
  r.body = std::move(body);
  r.outcome = Outcome::internal;
  r.endpoint = "internal";
  return r;
}

}  // namespace

Admin::Admin(AdminOptions options, Service& service)
    : m_options(std::move(options)), m_service(service) {}

Handler Admin::handler() {
  return {[this](const HttpRequest& r) { return respond_now(r); },
          [this](const HttpRequest& r, std::function<void(Response)> done) {
            if (auto now = respond_now(r)) return done(std::move(*now));
            m_service.handle_operational(r,
                                         std::move(done));  // /index and /catalog: a worker reads
          }};
}

std::optional<Response> Admin::respond_now(const HttpRequest& req) {
  std::optional<Response> out;
  if (req.method != "GET" && req.method != "HEAD") {
    out = error_response(405, "method not allowed", Outcome::rejected);
    out->headers.emplace_back("Allow", "GET, HEAD");
  } else if (req.target == "/healthz" || req.target == "/readyz") {
    out = m_service.respond_now(req);
  } else if (Service::is_operational_target(req.target)) {
    // Whatever operational_endpoints says about the main listener; nullopt: handle() reads the
    // index on a worker.
    return m_service.operational_now(req);
  } else if (req.target == "/admin/fetches") {
    auto keys = m_service.in_flight_keys();
    std::sort(keys.begin(), keys.end());
    std::string body;
    for (const auto& k : keys) body += k + "\n";
    out = plain(200, std::move(body));
  } else if (req.target == "/admin/config") {
    out = plain(200, m_options.effective_config);
  } else if (req.target == "/admin/store") {
    const auto c = m_service.committed();
    std::string fs = "null";
    struct statvfs st {};
    if (!m_options.data_dir.empty() && ::statvfs(m_options.data_dir.c_str(), &st) == 0) {
      fs = fmt::format(R"({{"total_bytes":{},"free_bytes":{},"free_inodes":{}}})",
                       static_cast<unsigned long long>(st.f_blocks) * st.f_frsize,
                       static_cast<unsigned long long>(st.f_bavail) * st.f_frsize,
                       static_cast<unsigned long long>(st.f_favail));
    }
    out = plain(
        200,
        fmt::format(
            R"({{"committed_objects":{},"committed_bytes":{},"fetches_in_flight":{},"filesystem":{}}})"
            "\n",
            c.objects, c.bytes, m_service.in_flight(), fs),
        "application/json");
  } else if (req.target == "/" || req.target == "/admin") {
    out =
        plain(200,
              "stoa admin: /healthz /readyz /metrics /index /catalog /admin/fetches /admin/config "
              "/admin/store\n");
  } else {
    out = error_response(404, "not found", Outcome::not_found);
    out->endpoint = "internal";
  }
  if (out) out->head = req.method == "HEAD";
  return out;
}

}  // namespace stoa::proxy
