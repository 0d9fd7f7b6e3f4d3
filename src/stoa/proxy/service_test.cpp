#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "stoa/coord/redis.hpp"
#include "stoa/coord/testing/servers.hpp"
#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/index/index.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/testing/faulty_store.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::proxy {
namespace {

using fakes::body_of;
using fakes::make_request;
using fakes::Responses;
using fakes::ScriptedUpstream;
using fetch::Status;

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() : m_store(store::make_memory_store(m_dir.path())), m_pool(4, 64) {
    ServiceOptions o;
    o.list_ttl = std::chrono::seconds(60);
    o.instance_id = "test-instance";
    o.now = [this] { return m_now; };
    m_service = std::make_unique<Service>(
        o, *m_store, m_upstream, m_pool,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()),
        m_registry);
  }
  ~ServiceTest() override { m_pool.shutdown(); }

  Response get(const std::string& target, const std::string& method = "GET",
               const std::string& range = "", const std::string& inm = "") {
    HttpRequest req = make_request(method, target);
    req.if_none_match = inm;
    req.range = range;
    Responses rs;
    m_service->handle(req, rs.sink());
    return std::move(rs.wait_for(1).front());
  }

  metrics::Registry m_registry;
  fsio::testing::ScratchDir m_dir;  // removed with its contents at the end of the test
  std::unique_ptr<store::Store> m_store;
  fetch::WorkerPool m_pool;
  ScriptedUpstream m_upstream;
  std::chrono::steady_clock::time_point m_now{std::chrono::hours(1)};
  std::unique_ptr<Service> m_service;
};

constexpr const char* k_info = R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})";

TEST_F(ServiceTest, MissFetchesStoresThenHits) {
  m_upstream.set("example.com/!foo/@v/v1.0.0.info", {Status::ok, k_info});
  Response r = get("/example.com/%21foo/@v/v1.0.0.info");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.outcome, Outcome::miss);
  EXPECT_EQ(body_of(r), k_info);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.cache_control, "public, max-age=31536000, immutable");
  EXPECT_FALSE(r.etag.empty());

  auto now = m_service->respond_now(make_request("GET", "/example.com/%21foo/@v/v1.0.0.info"));
  ASSERT_TRUE(now);
  EXPECT_EQ(now->outcome, Outcome::hit);
  EXPECT_EQ(body_of(*now), k_info);
  EXPECT_EQ(m_upstream.hits("example.com/!foo/@v/v1.0.0.info"), 1);
}

TEST_F(ServiceTest, ModMissNeverFetchesZip) {
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  Response r = get("/example.com/m/@v/v1.0.0.mod");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), "module example.com/m\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.0.0.zip"), 0);
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.0.0.info"), 0);
}

TEST_F(ServiceTest, InfoNamingAnotherVersionIsRefusedAndNotStored) {
  m_upstream.set("example.com/m/@v/v1.0.1.info", {Status::ok, k_info});
  Response r = get("/example.com/m/@v/v1.0.1.info");
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("invalid"), std::string::npos) << r.body;
  EXPECT_FALSE(m_store->get("example.com/m/@v/v1.0.1.info"));
}

TEST_F(ServiceTest, StatusTable) {
  m_upstream.set("example.com/a/@v/v1.0.0.mod", {Status::not_found, ""});
  m_upstream.set("example.com/b/@v/v1.0.0.mod", {Status::failed, ""});
  m_upstream.set("example.com/c/@v/v1.0.0.mod", {Status::failed, "", true});
  Response a = get("/example.com/a/@v/v1.0.0.mod");
  EXPECT_EQ(a.status, 404);
  EXPECT_TRUE(a.body.starts_with("not found: example.com/a@v1.0.0")) << a.body;
  EXPECT_EQ(a.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(get("/example.com/b/@v/v1.0.0.mod").status, 502);
  EXPECT_EQ(get("/example.com/c/@v/v1.0.0.mod").status, 504);
  EXPECT_EQ(get("/example.com/a/@v/v1.0.0.mod", "POST").status, 405);
  EXPECT_EQ(get("/example.com/%2e%2e/@v/v1.0.0.mod").status / 100, 4);
}

TEST_F(ServiceTest, ConcurrentMissesShareOneFetch) {
  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info});
  m_upstream.close_gate();
  Responses rs;
  constexpr int n = 50;
  for (int i = 0; i < n; ++i)
    m_service->handle(make_request("GET", "/example.com/m/@v/v1.0.0.info"), rs.sink());
  EXPECT_EQ(m_service->in_flight(), 1u);
  m_upstream.open_gate();
  auto& got = rs.wait_for(n);
  int misses = 0;
  for (auto& r : got) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r), k_info);
    misses += r.outcome == Outcome::miss;
  }
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.0.0.info"), 1);
}

// A store whose first get() of an armed key answers what the wrapped store holds at that moment
// and then holds its caller until released: a request stopped between its store check and its
// joining a flight, for as long as the test needs.
class PausingStore final : public store::Store {
 public:
  explicit PausingStore(store::Store& inner) : m_inner(inner) {}

  void arm(std::string key) {
    std::lock_guard l(m_mutex);
    m_key = std::move(key);
  }
  void wait_until_paused() {
    std::unique_lock l(m_mutex);
    m_cv.wait(l, [&] { return m_paused; });
  }
  void release() {
    {
      std::lock_guard l(m_mutex);
      m_released = true;
    }
    m_cv.notify_all();
  }

  std::optional<store::Object> get(const std::string& key) override {
    auto found = m_inner.get(key);
    std::unique_lock l(m_mutex);
    if (key == m_key) {
      m_key.clear();  // only the first get() pauses
      m_paused = true;
      m_cv.notify_all();
      m_cv.wait(l, [&] { return m_released; });
    }
    return found;
  }
  fsio::TempFile stage() override { return m_inner.stage(); }
  bool put(const std::string& key, fsio::TempFile staged) override {
    return m_inner.put(key, std::move(staged));
  }
  std::vector<std::string> versions(const std::string& m) override { return m_inner.versions(m); }
  bool repair_list(const std::string& m) override { return m_inner.repair_list(m); }
  std::vector<std::string> modules() override { return m_inner.modules(); }
  std::vector<std::string> files(const std::string& m) override { return m_inner.files(m); }

 private:
  store::Store& m_inner;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::string m_key;
  bool m_paused = false;
  bool m_released = false;
};

// A miss that looked in the store before an earlier flight committed the file, and joins after
// that flight has ended, must not fetch the file again (TestConcurrentMissesShareOneFetch failed
// so under load).
TEST_F(ServiceTest, MissThatRacesAFinishingFlightDoesNotFetchAgain) {
  PausingStore pausing(*m_store);
  ServiceOptions o;
  o.instance_id = "x";
  metrics::Registry registry;
  Service s(o, pausing, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  const std::string target = "/example.com/m/@v/v1.0.0.info";
  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info});
  pausing.arm("example.com/m/@v/v1.0.0.info");
  Responses late;
  std::thread a([&] { s.handle(make_request("GET", target), late.sink()); });
  pausing.wait_until_paused();  // `a` found the store empty and has not joined a flight yet

  Responses first;
  s.handle(make_request("GET", target), first.sink());
  const Response& r = first.wait_for(1).front();  // fetched, committed, flight ended
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.outcome, Outcome::miss);
  EXPECT_EQ(s.in_flight(), 0u);

  pausing.release();
  a.join();
  const Response& second = late.wait_for(1).front();
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(body_of(second), k_info);
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.0.0.info"), 1);
}

// The go command unpacks golang.org/fips140 from GOROOT/lib/fips140 and never downloads it:
// without a rule naming it, no spelling of it reaches an upstream.
TEST_F(ServiceTest, FipsModuleIsRefusedWithoutARule) {
  for (const char* target : {"/golang.org/fips140/@v/list", "/golang.org/fips140/@v/v1.0.0.zip",
                             "/golang.org/fips140/@v/v1.0.0.info", "/golang.org/fips140/@latest",
                             "/golang.org/!f!i!p!s140/@v/v1.0.0.mod"}) {
    const Response r = get(target);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_NE(r.body.find("GOROOT/lib/fips140"), std::string::npos) << r.body;
  }
  EXPECT_EQ(get("/golang.org/fips140x/@v/list").status, 404);  // another module: asked upstream
  EXPECT_EQ(m_upstream.hits("golang.org/fips140/@v/list"), 0);
  EXPECT_EQ(m_upstream.hits("golang.org/fips140/@v/v1.0.0.zip"), 0);
  EXPECT_EQ(m_upstream.hits("golang.org/!f!i!p!s140/@v/v1.0.0.mod"), 0);
  EXPECT_EQ(m_upstream.hits("golang.org/fips140x/@v/list"), 1);
}

TEST_F(ServiceTest, FullQueueAnswersBusy) {
  fetch::WorkerPool tiny(1, 1);  // one worker, one waiting task
  ServiceOptions o;
  o.instance_id = "x";
  metrics::Registry registry;
  Service s(o, *m_store, m_upstream, tiny,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  m_upstream.set("example.com/m/@v/v1.1.0.mod", {Status::ok, "module example.com/m\n"});
  m_upstream.close_gate();
  Responses running, waiting, refused;
  s.handle(make_request("GET", "/example.com/m/@v/v1.0.0.mod"), running.sink());
  // Wait (bounded) until the worker holds the first fetch at the gate, so the queue is empty.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (m_upstream.hits("example.com/m/@v/v1.0.0.mod") == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the worker never started the fetch";
    std::this_thread::yield();
  }
  s.handle(make_request("GET", "/example.com/m/@v/v1.1.0.mod"), waiting.sink());
  s.handle(make_request("GET", "/example.com/m/@v/v1.2.0.mod"), refused.sink());
  Response busy = std::move(refused.wait_for(1).front());
  EXPECT_EQ(busy.status, 503);
  ASSERT_FALSE(busy.headers.empty());
  EXPECT_EQ(busy.headers.front(), (std::pair<std::string, std::string>{"Retry-After", "1"}));
  m_upstream.open_gate();
  EXPECT_EQ(running.wait_for(1).front().status, 200);
  EXPECT_EQ(waiting.wait_for(1).front().status, 200);
  tiny.shutdown();
}

// A store whose reads may block (a remote one): every read it gets happens off the caller's
// thread, so a serving thread never waits for a network round trip.
class RemoteLikeStore final : public store::Store {
 public:
  explicit RemoteLikeStore(store::Store& inner) : m_inner(inner) {}
  bool reads_may_block() const override { return true; }
  std::optional<store::Object> get(const std::string& key) override {
    note_read();
    return m_inner.get(key);
  }
  fsio::TempFile stage() override { return m_inner.stage(); }
  bool put(const std::string& key, fsio::TempFile staged) override {
    return m_inner.put(key, std::move(staged));
  }
  bool repair_list(const std::string& m) override { return m_inner.repair_list(m); }
  std::vector<std::string> versions(const std::string& m) override {
    note_read();
    return m_inner.versions(m);
  }
  std::vector<std::string> modules() override { return m_inner.modules(); }
  std::vector<std::string> files(const std::string& m) override { return m_inner.files(m); }
  int reads_on(std::thread::id t) {
    std::lock_guard l(m_mutex);
    return m_reads[t];
  }

 private:
  void note_read() {
    std::lock_guard l(m_mutex);
    ++m_reads[std::this_thread::get_id()];
  }
  store::Store& m_inner;
  std::mutex m_mutex;
  std::map<std::thread::id, int> m_reads;
};

TEST_F(ServiceTest, ReadsOfABlockingStoreNeverRunOnTheCallersThread) {
  RemoteLikeStore remote(*m_store);
  ServiceOptions o;
  o.sumdb_sources["sum.example"] = {&m_upstream, ""};
  metrics::Registry registry;
  Service s(o, remote, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  m_upstream.set("example.com/m/@v/list", {Status::ok, "v1.0.0\n"});
  const auto me = std::this_thread::get_id();
  for (const char* target : {"/example.com/m/@v/v1.0.0.mod", "/example.com/m/@v/list", "/readyz",
                             "/sumdb/sum.example/tile/8/0/001"}) {
    for (int round = 0; round < 2; ++round) {  // a miss, then a hit
      const HttpRequest req = make_request("GET", target);
      EXPECT_FALSE(s.respond_now(req)) << target << ": answered on the serving thread";
      Responses rs;
      s.handle(req, rs.sink());
      rs.wait_for(1);
    }
  }
  EXPECT_EQ(remote.reads_on(me), 0);
  // What needs no store is still answered at once.
  EXPECT_TRUE(s.respond_now(make_request("GET", "/healthz")));
  EXPECT_TRUE(s.respond_now(make_request("GET", "/example.com/m/@v/v1.0.0.zap")));
}

TEST_F(ServiceTest, ARuleAddedByAReloadAppliesToFilesInTheMemoryCache) {
  const auto rules = m_dir.path() / "rules.toml";
  { std::ofstream(rules) << "# no rules yet\n"; }
  policy::Policy p(policy::PolicyFiles{rules.string(), "", ""},
                   [](const std::string&) -> std::unique_ptr<fetch::Upstream> { return nullptr; });
  ServiceOptions o;
  o.policy = &p;
  metrics::Registry registry;
  Service s(o, *m_store, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  const HttpRequest req = make_request("GET", "/example.com/m/@v/v1.0.0.mod");
  Responses miss;
  s.handle(req, miss.sink());
  ASSERT_EQ(miss.wait_for(1).front().status, 200);
  auto hot = s.respond_now(req);  // now in the memory cache
  ASSERT_TRUE(hot);
  ASSERT_EQ(hot->status, 200);
  {
    std::ofstream(rules) << "[[rule]]\nname = \"no\"\nmodules = \"example.com/m\"\n"
                            "action = \"deny\"\n";
  }
  ASSERT_EQ(p.reload(), std::nullopt);
  ASSERT_FALSE(p.no_rules());
  auto denied = s.respond_now(req);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
}

TEST_F(ServiceTest, ConditionalAndRange) {
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  const Response full = get("/example.com/m/@v/v1.0.0.mod");
  const Response part = get("/example.com/m/@v/v1.0.0.mod", "GET", "bytes=7-13");
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(body_of(part), "example");
  const Response nm = get("/example.com/m/@v/v1.0.0.mod", "GET", "", full.etag);
  EXPECT_EQ(nm.status, 304);
  EXPECT_FALSE(nm.object);
  const Response bad = get("/example.com/m/@v/v1.0.0.mod", "GET", "bytes=999-");
  EXPECT_EQ(bad.status, 416);
  const Response head = get("/example.com/m/@v/v1.0.0.mod", "HEAD");
  EXPECT_TRUE(head.head);
  EXPECT_EQ(head.content_length(), full.content_length());
}

// Every header a response carries, however it was built (fields, extra headers or the memory
// cache's prebuilt lines).
std::map<std::string, std::string> header_map(const Response& r) {
  std::map<std::string, std::string> h;
  if (!r.content_type.empty()) h["Content-Type"] = r.content_type;
  if (!r.cache_control.empty()) h["Cache-Control"] = r.cache_control;
  if (!r.etag.empty()) h["ETag"] = r.etag;
  for (const auto& [k, v] : r.headers) h[k] = v;
  if (r.head_lines) {
    std::string_view rest = *r.head_lines;
    while (!rest.empty()) {
      const auto eol = rest.find("\r\n");
      const auto line = rest.substr(0, eol);
      const auto colon = line.find(": ");
      EXPECT_EQ(h.count(std::string(line.substr(0, colon))), 0u) << line;
      h[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
      rest.remove_prefix(eol + 2);
    }
  }
  return h;
}

TEST_F(ServiceTest, MemoryCacheAnswersLikeTheStore) {
  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  ServiceOptions off;
  off.memory_cache_bytes = 0;
  metrics::Registry registry;
  Service uncached(
      off, *m_store, m_upstream, m_pool,
      std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
      registry);
  ASSERT_EQ(get("/example.com/m/@v/v1.0.0.mod").status, 200);  // fetched and stored
  for (const char* method : {"GET", "HEAD"}) {
    const auto req = make_request(method, "/example.com/m/@v/v1.0.0.mod");
    auto slow = uncached.respond_now(req);
    auto first = m_service->respond_now(req);   // from the store, now cached
    auto second = m_service->respond_now(req);  // from memory
    ASSERT_TRUE(slow && first && second);
    EXPECT_FALSE(slow->head_lines);
    EXPECT_TRUE(second->head_lines);
    for (const Response* r : {&*first, &*second}) {
      EXPECT_EQ(r->status, slow->status);
      EXPECT_EQ(r->head, slow->head);
      EXPECT_EQ(r->outcome, Outcome::hit);
      EXPECT_EQ(r->endpoint, slow->endpoint);
      EXPECT_EQ(r->content_length(), slow->content_length());
      EXPECT_EQ(body_of(*r), body_of(*slow));
      EXPECT_EQ(header_map(*r), header_map(*slow));
    }
  }
  // Conditional requests from memory: 304 with the same headers; ranges take the store path.
  auto req = make_request("GET", "/example.com/m/@v/v1.0.0.mod");
  req.if_none_match = header_map(*uncached.respond_now(req))["ETag"];
  auto nm = m_service->respond_now(req);
  ASSERT_TRUE(nm);
  EXPECT_EQ(nm->status, 304);
  EXPECT_FALSE(nm->object);
  EXPECT_EQ(header_map(*nm)["ETag"], req.if_none_match);
  req.if_none_match.clear();
  req.range = "bytes=7-13";
  auto part = m_service->respond_now(req);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(body_of(*part), "example");
}

TEST_F(ServiceTest, ListMergesStoredVersionsAndSurvivesUpstreamFailure) {
  m_upstream.set("example.com/m/@v/v1.1.0.info", {Status::ok, R"({"Version":"v1.1.0"})"});
  ASSERT_EQ(get("/example.com/m/@v/v1.1.0.info").status, 200);
  m_upstream.set("example.com/m/@v/list", {Status::ok, "v1.0.0\n"});
  Response r = get("/example.com/m/@v/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(r.cache_control, "public, max-age=60");

  // Fresh: answered from memory without upstream.
  auto now = m_service->respond_now(make_request("GET", "/example.com/m/@v/list"));
  ASSERT_TRUE(now);
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/list"), 1);

  // Past list_ttl, with the upstream hanging: the last good copy at once, and one refresh in
  // the background (stale-while-revalidate).
  m_now += std::chrono::seconds(61);
  m_upstream.close_gate();
  auto stale = m_service->respond_now(make_request("GET", "/example.com/m/@v/list"));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->outcome, Outcome::stale);
  EXPECT_EQ(stale->body, "v1.0.0\nv1.1.0\n");
  auto again = m_service->respond_now(make_request("GET", "/example.com/m/@v/list"));
  ASSERT_TRUE(again);  // joins the same refresh
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  auto wait_until = [&](auto done, const char* what) {
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << what;
      std::this_thread::yield();
    }
  };
  wait_until([&] { return m_upstream.hits("example.com/m/@v/list") == 2; }, "no refresh started");
  EXPECT_EQ(m_service->in_flight(), 1u);
  m_upstream.set("example.com/m/@v/list", {Status::ok, "v1.0.0\nv1.2.0\n"});
  m_upstream.open_gate();
  wait_until([&] { return m_service->in_flight() == 0; }, "the refresh never ended");
  auto fresh = m_service->respond_now(make_request("GET", "/example.com/m/@v/list"));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->outcome, Outcome::hit);
  // The upstream's lines in its order, then the stored version it did not list (merge_list).
  EXPECT_EQ(fresh->body, "v1.0.0\nv1.2.0\nv1.1.0\n");
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/list"), 2);

  // Stale and upstream down: still the last good copy.
  m_now += std::chrono::seconds(61);
  m_upstream.set("example.com/m/@v/list", {Status::failed, ""});
  r = get("/example.com/m/@v/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.outcome, Outcome::stale);
  EXPECT_EQ(r.body, "v1.0.0\nv1.2.0\nv1.1.0\n");
}

// Answers are bounded in bytes, whatever the number of keys or the size of each answer.
TEST_F(ServiceTest, AnswerCacheIsBoundedInBytes) {
  ServiceOptions o;
  o.instance_id = "x";
  o.answer_cache_bytes = 256 << 10;
  metrics::Registry registry;
  Service s(o, *m_store, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  std::string big;  // an upstream serving 16 KiB lists
  for (int v = 0; big.size() < (16 << 10); ++v) big += "v1.0." + std::to_string(v) + "\n";
  for (int i = 0; i < 40; ++i) {  // 640 KiB of answers against a 256 KiB budget
    const std::string m = "example.com/m" + std::to_string(i);
    m_upstream.set(m + "/@v/list", {Status::ok, big});
    Responses rs;
    s.handle(make_request("GET", "/" + m + "/@v/list"), rs.sink());
    ASSERT_EQ(rs.wait_for(1).front().status, 200);
  }
  const std::string metrics = registry.render();
  const std::string name = "\nstoa_answer_cache_bytes ";
  const auto at = metrics.find(name);
  ASSERT_NE(at, std::string::npos) << metrics;
  const double bytes = std::strtod(metrics.substr(at + name.size(), 24).c_str(), nullptr);
  EXPECT_GT(bytes, 128 << 10);
  EXPECT_LE(bytes, 256 << 10);
}

TEST_F(ServiceTest, ListAndLatestFromStoreWhenUpstreamFailsWithoutCache) {
  m_upstream.set("example.com/m/@v/v1.2.0.info", {Status::ok, R"({"Version":"v1.2.0"})"});
  ASSERT_EQ(get("/example.com/m/@v/v1.2.0.info").status, 200);
  m_upstream.set("example.com/m/@v/list", {Status::failed, ""});
  m_upstream.set("example.com/m/@latest", {Status::failed, ""});
  Response list = get("/example.com/m/@v/list");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body, "v1.2.0\n");
  Response latest = get("/example.com/m/@latest");
  EXPECT_EQ(latest.status, 200);
  EXPECT_EQ(latest.body, R"({"Version":"v1.2.0"})");
  // Nothing stored and upstream down: a 5xx, never a 404.
  m_upstream.set("example.com/n/@v/list", {Status::failed, ""});
  EXPECT_EQ(get("/example.com/n/@v/list").status, 502);
  EXPECT_EQ(get("/example.com/n/@latest").status, 404);  // unscripted: upstream says 404
}

TEST_F(ServiceTest, LatestAndQueriesAreValidated) {
  m_upstream.set("example.com/m/v2/@latest", {Status::ok, R"({"Version":"v1.0.0"})"});
  EXPECT_EQ(get("/example.com/m/v2/@latest").status, 502);
  m_upstream.set("example.com/m/@v/master.info",
                 {Status::ok, R"({"Version":"v0.0.0-20200101000000-abcdefabcdef"})"});
  Response q = get("/example.com/m/@v/master.info");
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.cache_control, "public, max-age=60");
  EXPECT_FALSE(m_store->get("example.com/m/@v/master.info"));
}

TEST_F(ServiceTest, MetricsCountFetchesByKindAndResult) {
  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info});
  m_upstream.set("example.com/m/@v/v1.0.1.info", {Status::ok, k_info});  // names another version
  ASSERT_EQ(get("/example.com/m/@v/v1.0.0.info").status, 200);
  ASSERT_EQ(get("/example.com/m/@v/v1.0.0.info").status, 200);  // a hit: no fetch
  ASSERT_EQ(get("/example.com/m/@v/v1.0.1.info").status, 502);
  ASSERT_EQ(get("/example.com/m/@v/v1.9.0.mod").status, 404);
  const Response m = get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.endpoint, "internal");
  EXPECT_NE(m.body.find("stoa_upstream_fetches_total{kind=\"info\",result=\"ok\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("stoa_upstream_fetches_total{kind=\"info\",result=\"invalid\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("stoa_upstream_fetches_total{kind=\"mod\",result=\"not_found\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("stoa_upstream_bytes_total{kind=\"info\"} " +
                        std::to_string(2 * std::string(k_info).size()) + "\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("stoa_fetches_in_flight 0\n"), std::string::npos);
  // One put (the first .info), one get per canonical request (4).
  EXPECT_NE(
      m.body.find("stoa_store_operation_duration_seconds_count{backend=\"disk\",op=\"put\"} 1\n"),
      std::string::npos);
  EXPECT_NE(
      m.body.find("stoa_store_operation_duration_seconds_count{backend=\"disk\",op=\"get\"} 4\n"),
      std::string::npos);
  EXPECT_EQ(m.body.find("example.com"), std::string::npos) << "module paths are never labels";
}

// Readiness says whether a miss could be taken: a store that reads but cannot stage a new file
// (a read-only or full data directory) is not ready, and neither is one that cannot read.
TEST_F(ServiceTest, ReadinessNeedsAWritableStore) {
  store::testing::FaultyStore faulty(store::make_memory_store(m_dir.path()));
  ServiceOptions o;
  o.instance_id = "x";
  metrics::Registry registry;
  Service s(o, faulty, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  auto readyz = [&] { return s.respond_now(make_request("GET", "/readyz")).value(); };
  EXPECT_EQ(readyz().status, 200);
  faulty.fail_always(store::testing::FaultyStore::Op::stage);
  const Response r = readyz();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "store not writable\n");
  faulty.fail_nth(store::testing::FaultyStore::Op::stage, 0);
  EXPECT_EQ(readyz().status, 200);
  faulty.fail_always(store::testing::FaultyStore::Op::get);
  EXPECT_EQ(readyz().body, "store unavailable\n");
}

// A list the store left stale (a kill between a commit and the list rewrite) is rewritten the
// first time the module's list is answered, whether upstream answers or not.
TEST_F(ServiceTest, StaleStoredListIsRepairedOnFirstUse) {
  const std::filesystem::path root = m_dir.path() / "disk";
  const std::unique_ptr<store::Store> disk = store::make_disk_store(root);
  ServiceOptions o;
  o.instance_id = "x";
  metrics::Registry registry;
  Service s(o, *disk, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  auto stale_module = [&](const std::string& m) {
    for (const char* v : {"v1.0.0", "v1.1.0"}) {
      ASSERT_TRUE(store::testing::put_bytes(*disk, m + "/@v/" + v + ".info",
                                            std::string(R"({"Version":")") + v + "\"}"));
    }
    const auto list = root / m / "@v" / "list";
    std::filesystem::remove(list);
    std::ofstream(list) << "v1.0.0\n";  // as the kill left it
  };
  auto on_disk = [&](const std::string& m) {
    std::ifstream in(root / m / "@v" / "list");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto list_of = [&](const std::string& m) {
    Responses rs;
    s.handle(make_request("GET", "/" + m + "/@v/list"), rs.sink());
    return std::move(rs.wait_for(1).front());
  };

  stale_module("example.com/up");
  m_upstream.set("example.com/up/@v/list", {Status::ok, "v1.0.0\n"});
  Response r = list_of("example.com/up");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(on_disk("example.com/up"), "v1.0.0\nv1.1.0\n");

  stale_module("example.com/down");  // upstream does not know it: answered from the store
  r = list_of("example.com/down");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(on_disk("example.com/down"), "v1.0.0\nv1.1.0\n");
  EXPECT_NE(registry.render().find("stoa_derived_files_total{file=\"list\",event=\"repaired\"} 2"),
            std::string::npos)
      << registry.render();
}

// ENOSPC between commits: the .info (or .mod) is committed, only a derived file (the list, the
// .modhash) failed. The client gets the committed file, not a 503; the failure is counted.
TEST_F(ServiceTest, CommittedFileIsServedWhenADerivedWriteFails) {
  using Op = store::testing::FaultyStore::Op;
  store::testing::FaultyStore faulty(store::make_memory_store(m_dir.path()));
  ServiceOptions o;
  o.instance_id = "x";
  metrics::Registry registry;
  Service s(o, faulty, m_upstream, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()),
            registry);
  auto fetch = [&](const std::string& target) {
    Responses rs;
    s.handle(make_request("GET", target), rs.sink());
    return std::move(rs.wait_for(1).front());
  };

  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info});
  faulty.fail_nth(Op::put_derived, 1);
  Response r = fetch("/example.com/m/@v/v1.0.0.info");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), k_info);
  EXPECT_TRUE(faulty.inner().get("example.com/m/@v/v1.0.0.info"));

  m_upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  faulty.fail_nth(Op::put, 2);  // the .mod commits; recording its .modhash fails
  r = fetch("/example.com/m/@v/v1.0.0.mod");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), "module example.com/m\n");
  EXPECT_FALSE(faulty.inner().get("example.com/m/@v/v1.0.0.modhash"));

  const std::string text = registry.render();
  EXPECT_NE(text.find("stoa_derived_files_total{file=\"list\",event=\"failed\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("stoa_derived_files_total{file=\"hash\",event=\"failed\"} 1"),
            std::string::npos)
      << text;
}

TEST_F(ServiceTest, InternalEndpoints) {
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/_stoa/instance").body, "test-instance");
  EXPECT_EQ(get("/readyz").status, 200);
  m_service->set_draining();
  EXPECT_EQ(get("/readyz").status, 503);
  EXPECT_EQ(get("/healthz").status, 200);
}

// ---- replicas: Services sharing one store, with real Redis locks ----

coord::testing::RedisServer& redis_server() {
  static coord::testing::RedisServer s;
  return s;
}

// The value of the metric line starting with `series` ("name" or "name{labels}"), or "".
std::string metric(const metrics::Registry& registry, const std::string& series) {
  const std::string text = registry.render();
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  const auto start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

class ReplicaTest : public ::testing::Test {
 protected:
  struct Replica {
    metrics::Registry registry;
    ScriptedUpstream upstream;
    fetch::WorkerPool pool{2, 16};
    std::unique_ptr<coord::Locks> locks;
    std::unique_ptr<Service> service;
    ~Replica() { pool.shutdown(); }
    Response get(const std::string& target) {
      Responses rs;
      service->handle(make_request("GET", target), rs.sink());
      return std::move(rs.wait_for(1).front());
    }
  };

  ReplicaTest() : m_store(store::make_memory_store(m_dir.path())) {}

  static std::string test_name() {
    return ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::unique_ptr<Replica> replica(std::chrono::milliseconds lock_wait,
                                   const std::string& redis_url = redis_server().url(),
                                   index::Index* idx = nullptr) {
    auto r = std::make_unique<Replica>();
    r->locks = coord::make_redis_locks(
        {redis_url, std::chrono::seconds(5), std::chrono::milliseconds(500), prefix()});
    ServiceOptions o;
    o.locks = r->locks.get();
    o.lock_wait = lock_wait;
    o.index = idx;
    o.origin = "https://up.internal";
    r->service = std::make_unique<Service>(
        o, *m_store, r->upstream, r->pool,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()),
        r->registry);
    return r;
  }
  std::string prefix() const { return "svc:" + test_name() + ":"; }

  // Bounded wait for a condition another thread makes true.
  template <class F>
  static void await(F cond, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!cond()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << what;
      std::this_thread::yield();
    }
  }
  // Subscribers waiting for the release of `key`'s lock, as Redis sees them.
  int lock_waiters(const std::string& key) const {
    redisContext* c = ::redisConnect("127.0.0.1", redis_server().port());
    const std::string channel = prefix() + key + ":released";
    auto* r = static_cast<redisReply*>(::redisCommand(c, "PUBSUB NUMSUB %s", channel.c_str()));
    const int n = r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2
                      ? static_cast<int>(r->element[1]->integer)
                      : -1;
    if (r != nullptr) ::freeReplyObject(r);
    ::redisFree(c);
    return n;
  }

  fsio::testing::ScratchDir m_dir;  // removed with its contents at the end of the test
  std::unique_ptr<store::Store> m_store;
};

constexpr const char* k_info_key = "example.com/m/@v/v1.0.0.info";

// Replica B misses while replica A is fetching: B's fetch waits for A's lock, then finds the
// file stored and never asks its upstream.
TEST_F(ReplicaTest, SecondReplicaWaitsForTheLockThenFindsTheFileStored) {
  auto a = replica(std::chrono::seconds(30));
  auto b = replica(std::chrono::seconds(30));
  a->upstream.set(k_info_key, {Status::ok, k_info});
  b->upstream.set(k_info_key, {Status::ok, k_info});
  a->upstream.close_gate();
  Responses ra;
  a->service->handle(make_request("GET", std::string("/") + k_info_key), ra.sink());
  await([&] { return a->upstream.hits(k_info_key) == 1; }, "A never asked upstream");
  EXPECT_EQ(metric(a->registry, "stoa_locks_held"), "1");
  Responses rb;
  b->service->handle(make_request("GET", std::string("/") + k_info_key), rb.sink());
  await([&] { return lock_waiters(k_info_key) == 1; }, "B never waited for the lock");
  a->upstream.open_gate();
  const Response got_a = std::move(ra.wait_for(1).front());
  const Response got_b = std::move(rb.wait_for(1).front());
  EXPECT_EQ(got_a.status, 200);
  EXPECT_EQ(got_b.status, 200);
  EXPECT_EQ(body_of(got_b), k_info);
  EXPECT_EQ(b->upstream.hits(k_info_key), 0);
  EXPECT_EQ(metric(b->registry, "stoa_lock_found_stored_total"), "1");
  // b asked no upstream: its found-stored file is no fetch.
  const std::string b_fetches =
      metric(b->registry, "stoa_upstream_fetches_total{kind=\"info\",result=\"ok\"}");
  EXPECT_TRUE(b_fetches.empty() || b_fetches == "0") << b_fetches;
  EXPECT_EQ(metric(a->registry, "stoa_upstream_fetches_total{kind=\"info\",result=\"ok\"}"), "1");
  EXPECT_EQ(metric(a->registry, "stoa_lock_found_stored_total"), "0");
  EXPECT_EQ(metric(a->registry, "stoa_locks_held"), "0");
  EXPECT_EQ(metric(b->registry, "stoa_lock_acquisitions_total{result=\"acquired\"}"), "1");
}

// A lock held longer than lock_wait: the waiter fetches anyway rather than fail.
TEST_F(ReplicaTest, WaiterFetchesAnywayAfterLockWait) {
  auto a = replica(std::chrono::seconds(30));
  auto b = replica(std::chrono::milliseconds(200));
  a->upstream.set(k_info_key, {Status::ok, k_info});
  b->upstream.set(k_info_key, {Status::ok, k_info});
  a->upstream.close_gate();
  Responses ra;
  a->service->handle(make_request("GET", std::string("/") + k_info_key), ra.sink());
  await([&] { return a->upstream.hits(k_info_key) == 1; }, "A never asked upstream");
  const Response got_b = b->get(std::string("/") + k_info_key);
  EXPECT_EQ(got_b.status, 200);
  EXPECT_EQ(b->upstream.hits(k_info_key), 1);
  EXPECT_EQ(metric(b->registry, "stoa_lock_acquisitions_total{result=\"timeout\"}"), "1");
  a->upstream.open_gate();
  EXPECT_EQ(ra.wait_for(1).front().status, 200);  // already stored by B: A's commit is a no-op
}

// The lock service is unreachable: requests are answered, the fetch is counted as degraded, and
// the service is not asked again for lock_retry (5 s by default).
TEST_F(ReplicaTest, LockServiceDownDegradesToSingleFlight) {
  auto a = replica(std::chrono::seconds(30),
                   "redis://127.0.0.1:" + std::to_string(coord::testing::free_port()));
  a->upstream.set(k_info_key, {Status::ok, k_info});
  a->upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  EXPECT_EQ(a->get(std::string("/") + k_info_key).status, 200);
  EXPECT_EQ(a->get("/example.com/m/@v/v1.0.0.mod").status, 200);
  EXPECT_EQ(metric(a->registry, "stoa_lock_degraded_total"), "2");
  EXPECT_EQ(metric(a->registry, "stoa_lock_acquisitions_total{result=\"error\"}"), "1")
      << "the second fetch did not ask the service that just failed";
}

// Every commit is recorded in the index; an index that fails never fails the request.
TEST_F(ReplicaTest, CommitsAreIndexedAndIndexFailuresAreOnlyCounted) {
  auto good = index::make_sqlite_index(":memory:");
  auto a = replica(std::chrono::seconds(30), redis_server().url(), good.get());
  a->upstream.set(k_info_key, {Status::ok, k_info});
  EXPECT_EQ(a->get(std::string("/") + k_info_key).status, 200);
  const auto entries = good->since(0, 10);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].module, "example.com/m");
  EXPECT_EQ(entries[0].version, "v1.0.0");
  EXPECT_EQ(entries[0].origin, "https://up.internal");
  const Response feed = a->get("/index?since=1970-01-01T00:00:00Z");
  EXPECT_EQ(feed.status, 200);
  EXPECT_NE(feed.body.find(R"({"Path":"example.com/m","Version":"v1.0.0","Timestamp":")"),
            std::string::npos)
      << feed.body;
  EXPECT_EQ(a->get("/index?limit=5000").status, 400);

  auto dead = index::make_postgres_index(
      "postgresql://postgres@127.0.0.1:" + std::to_string(coord::testing::free_port()) + "/p");
  auto b = replica(std::chrono::seconds(30), redis_server().url(), dead.get());
  b->upstream.set("example.com/m/@v/v1.0.0.mod", {Status::ok, "module example.com/m\n"});
  b->upstream.set("example.com/n/@v/v1.0.0.mod", {Status::ok, "module example.com/n\n"});
  EXPECT_EQ(b->get("/example.com/m/@v/v1.0.0.mod").status, 200);
  EXPECT_EQ(metric(b->registry, "stoa_index_errors_total"), "1");
  EXPECT_EQ(b->get("/example.com/n/@v/v1.0.0.mod").status, 200);  // within the retry window
  EXPECT_EQ(metric(b->registry, "stoa_index_errors_total"), "2");
  EXPECT_EQ(b->get("/catalog").status, 503);
}

}  // namespace
}  // namespace stoa::proxy
