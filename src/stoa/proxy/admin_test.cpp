#include "stoa/proxy/admin.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "stoa/store/memory.hpp"

namespace stoa::proxy {
namespace {

HttpRequest make_request(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  return r;
}

class NoUpstream final : public fetch::Upstream {
 public:
  using fetch::Upstream::get;
  fetch::Outcome get(const std::string&, fsio::TempFile&, std::uint64_t, const Headers&) override {
    return {};
  }
  fetch::Outcome get(const std::string&, std::string&, std::uint64_t, const Headers&) override {
    return {};
  }
};

TEST(Admin, Endpoints) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("stoa-admin-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto store = store::make_memory_store(dir);
    NoUpstream upstream;
    fetch::WorkerPool pool(1, 1);
    metrics::Registry registry;
    ServiceOptions so;
    so.instance_id = "i";
    // The main listener serves none of /metrics, /index, /catalog: the admin listener still does.
    so.operational_access = ServiceOptions::OperationalAccess::admin_only;
    Service service(
        so, *store, upstream, pool,
        std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
        registry);
    Admin admin({"listen = \"x\"\n", dir.string()}, service);
    auto get = [&](const std::string& t) { return *admin.respond_now(make_request("GET", t)); };
    EXPECT_EQ(get("/admin/config").body, "listen = \"x\"\n");
    EXPECT_EQ(get("/admin/fetches").body, "");
    const Response s = get("/admin/store");
    EXPECT_EQ(s.content_type, "application/json");
    EXPECT_NE(s.body.find("\"committed_objects\":0"), std::string::npos) << s.body;
    EXPECT_NE(s.body.find("\"free_bytes\":"), std::string::npos) << s.body;
    EXPECT_EQ(get("/healthz").status, 200);
    EXPECT_EQ(get("/metrics").status, 200);
    EXPECT_EQ(service.respond_now(make_request("GET", "/metrics"))->status, 404);
    const Response index = get("/index");  // index = none here: past the mode, to the index
    EXPECT_EQ(index.status, 404);
    EXPECT_NE(index.body.find("keeps no index"), std::string::npos) << index.body;
    EXPECT_EQ(get("/example.com/m/@v/list").status, 404);  // the admin listener serves no modules
    EXPECT_EQ(admin.respond_now(make_request("DELETE", "/admin/config"))->status, 405);
    pool.shutdown();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stoa::proxy
