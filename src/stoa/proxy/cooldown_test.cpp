// Minimum release ages (cooldown) through the policy's version filter: the age of a version by
// the later of its Time and when stoa first saw it, the edge cases (no Time, a future Time,
// pseudo-versions, +incompatible, pinned versions, a client's /cooldown/ prefix), first-seen
// times surviving a restart through the index, and through a whole Service: @latest skips a
// young version until the clock passes, a pinned young version answers 403 with its date.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/index/index.hpp"
#include "stoa/policy/age.hpp"
#include "stoa/proxy/first_seen.hpp"
#include "stoa/proxy/listing.hpp"
#include "stoa/proxy/policy_filter.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/proxy/testing/service_harness.hpp"

namespace stoa::proxy {
namespace {

using fetch::Status;
using std::chrono::hours;
using std::chrono::seconds;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::int64_t k_day = 86400;
// 2026-01-01T00:00:00Z: the tests' "today" at the start.
constexpr std::int64_t k_start = 1767225600;

std::shared_ptr<spdlog::logger> null_log() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

std::unique_ptr<policy::Policy> fixed_policy(std::string_view rules) {
  auto snap = std::make_shared<policy::Snapshot>();
  auto parsed = policy::parse_rules(rules, "rules");
  snap->rules = std::get<policy::RuleSet>(std::move(parsed));
  return std::make_unique<policy::Policy>(std::move(snap));
}

// A clock a test moves by hand.
struct TestClock {
  std::atomic<std::int64_t> now{k_start};
  FirstSeen::Clock clock() {
    return [this] { return TimePoint(seconds(now.load())); };
  }
  void advance(std::int64_t s) { now += s; }
};

std::string at(std::int64_t unix) { return policy::rfc3339(TimePoint(seconds(unix))); }

constexpr const char* k_rules = R"(
[[rule]]
name = "fresh-ok"
modules = "example.com/trusted"
[[rule]]
name = "pins-ok"
modules = "example.com/pinned"
min_age = "7d"
min_age_pinned = "allow"
[[rule]]
name = "no-new-majors"
modules = "example.com/m"
versions = ">=v2.0.0"
action = "deny"
[[rule]]
name = "week"
modules = "example.com/*"
min_age = "7d"
)";

class CooldownFilterTest : public ::testing::Test {
 protected:
  CooldownFilterTest()
      : m_policy(fixed_policy(k_rules)),
        m_seen(nullptr, null_log(), m_clock.clock()),
        m_filter(make_policy_filter(*m_policy, &m_seen)) {}
  TestClock m_clock;
  std::unique_ptr<policy::Policy> m_policy;
  FirstSeen m_seen;
  std::unique_ptr<VersionFilter> m_filter;
};

TEST_F(CooldownFilterTest, AgeCountsFromFirstSightUntilTheClockPasses) {
  const auto v = m_filter->check("example.com/m", "v1.0.0", "");
  EXPECT_TRUE(v.hidden);
  EXPECT_EQ(v.cause, "cooldown");
  EXPECT_EQ(v.rule, "week");
  EXPECT_EQ(v.reason,
            "in cooldown until " + at(k_start + 7 * k_day) + R"( (rule "week", min_age 1w))");
  EXPECT_EQ(refusal("example.com/m", "v1.0.0", v),
            "example.com/m@v1.0.0 is in cooldown until 2026-01-08T00:00:00Z (rule \"week\", "
            "min_age 1w)");
  m_clock.advance(7 * k_day - 1);
  EXPECT_TRUE(m_filter->check("example.com/m", "v1.0.0", "").hidden);
  m_clock.advance(1);
  EXPECT_FALSE(m_filter->check("example.com/m", "v1.0.0", "").hidden);
  // Seen now for the first time: its own cooldown starts now.
  EXPECT_TRUE(m_filter->check("example.com/m", "v1.1.0", "").hidden);
}

// The Time a version claims cannot shorten its cooldown (a tag pushed today on a commit dated
// last year); a Time later than the first sighting (in the future) lengthens it.
TEST_F(CooldownFilterTest, TheLaterOfTimeAndFirstSightCounts) {
  const std::string last_year = at(k_start - 365 * k_day);
  EXPECT_TRUE(m_filter->check("example.com/m", "v1.0.0", last_year).hidden);
  const std::string future = at(k_start + 30 * k_day);
  const auto v = m_filter->check("example.com/m", "v1.2.0", future);
  EXPECT_TRUE(v.hidden);
  EXPECT_NE(v.reason.find("until " + at(k_start + 37 * k_day)), std::string::npos) << v.reason;
  m_clock.advance(8 * k_day);
  EXPECT_FALSE(m_filter->check("example.com/m", "v1.0.0", last_year).hidden);
  EXPECT_TRUE(m_filter->check("example.com/m", "v1.2.0", future).hidden);
  EXPECT_FALSE(m_filter->check("example.com/m", "v1.2.0", "").hidden);  // no Time: sight only
  // A malformed Time counts as none.
  EXPECT_FALSE(m_filter->check("example.com/m", "v1.2.0", "yesterday").hidden);
}

TEST_F(CooldownFilterTest, PseudoVersionsIncompatibleAndOtherRules) {
  // A pseudo-version's own time counts as its Time when the answer carries none.
  const std::string pseudo = "v0.0.0-20260201000000-abcdefabcdef";  // a month ahead
  EXPECT_TRUE(m_filter->check("example.com/p", "v0.0.0-20250101000000-abcdefabcdef", "").hidden);
  m_clock.advance(8 * k_day);
  EXPECT_FALSE(m_filter->check("example.com/p", "v0.0.0-20250101000000-abcdefabcdef", "").hidden);
  EXPECT_TRUE(m_filter->check("example.com/p", pseudo, "").hidden);
  m_clock.advance(8 * k_day);
  const auto v = m_filter->check("example.com/p", pseudo, "");
  EXPECT_TRUE(v.hidden);  // not before 2026-02-08
  EXPECT_NE(v.reason.find("until 2026-02-08T00:00:00Z"), std::string::npos) << v.reason;
  // +incompatible is a version of its own.
  EXPECT_TRUE(m_filter->check("example.com/i", "v2.0.0+incompatible", "").hidden);
  // A deny rule before it decides first; a rule without min_age never holds.
  EXPECT_EQ(m_filter->check("example.com/m", "v2.0.0", "").cause, "deny");
  EXPECT_FALSE(m_filter->check("example.com/trusted", "v9.0.0", "").hidden);
  EXPECT_FALSE(m_filter->check("other.org/m", "v1.0.0", "").hidden);
  EXPECT_FALSE(m_filter->check("example.com/m", "not-a-version", "").hidden);
}

TEST_F(CooldownFilterTest, PinnedVersionsAndTheClientsPrefix) {
  const VersionFilter::Asked pinned{seconds(0), true};
  const VersionFilter::Asked listed{seconds(0), false};
  EXPECT_FALSE(m_filter->check("example.com/pinned", "v1.0.0", "", pinned).hidden);
  EXPECT_TRUE(m_filter->check("example.com/pinned", "v1.0.0", "", listed).hidden);
  EXPECT_TRUE(m_filter->check("example.com/m", "v1.0.0", "", pinned).hidden);  // "week": deny
  // A client's prefix: on top of the rules, the larger age counts and is named.
  const VersionFilter::Asked two_weeks{seconds(14 * k_day), false};
  m_clock.advance(8 * k_day);
  EXPECT_FALSE(m_filter->check("example.com/m", "v1.0.0", "").hidden);
  const auto v = m_filter->check("example.com/m", "v1.0.0", "", two_weeks);
  EXPECT_TRUE(v.hidden);
  EXPECT_EQ(v.rule, "/cooldown");
  EXPECT_EQ(v.reason, "in cooldown until " + at(k_start + 14 * k_day) +
                          " (the client's /cooldown/2w prefix)");
  EXPECT_TRUE(m_filter->check("other.org/m", "v1.0.0", "", two_weeks).hidden);  // no rule
  // min_age_pinned = "allow" lets exact versions through the prefix too.
  const VersionFilter::Asked two_weeks_pinned{seconds(14 * k_day), true};
  EXPECT_FALSE(m_filter->check("example.com/pinned", "v1.0.0", "", two_weeks_pinned).hidden);
}

TEST(CooldownFilter, PrefixAppliesWithoutRules) {
  const auto policy = fixed_policy("");
  TestClock clock;
  FirstSeen seen(nullptr, null_log(), clock.clock());
  const auto filter = make_policy_filter(*policy, &seen);
  EXPECT_FALSE(filter->active());
  const VersionFilter::Asked week{seconds(7 * k_day), false};
  EXPECT_TRUE(filter->applies(week));
  EXPECT_FALSE(filter->check("a.b/c", "v1.0.0", "").hidden);
  EXPECT_TRUE(filter->check("a.b/c", "v1.0.0", "", week).hidden);
  clock.advance(7 * k_day);
  EXPECT_FALSE(filter->check("a.b/c", "v1.0.0", "", week).hidden);
}

// First sightings outlive the process through the index; a look without recording leaves none.
TEST(FirstSeen, SurvivesARestartThroughTheIndex) {
  fsio::testing::ScratchDir dir;
  const std::string file = (dir.path() / "index.sqlite").string();
  TestClock clock;
  const TimePoint t0{seconds(k_start)};
  {
    auto idx = index::make_sqlite_index(file);
    FirstSeen peek(idx.get(), null_log(), clock.clock(), false);
    clock.advance(3600);
    EXPECT_EQ(peek.seen("a.b/c", "v1.0.0"), t0 + hours(1));
    peek.saw("a.b/c", {"v1.0.0"});
    EXPECT_TRUE(idx->seen("a.b/c").empty());
    FirstSeen seen(idx.get(), null_log(), clock.clock());
    EXPECT_EQ(seen.seen("a.b/c", "v1.0.0"), t0 + hours(1));
    seen.saw("a.b/c", {"v1.0.0", "v1.0.1"});  // v1.0.0 keeps its time
    clock.advance(4 * 3600);
    EXPECT_EQ(seen.seen("a.b/c", "v1.0.0"), t0 + hours(1));
  }
  auto idx = index::make_sqlite_index(file);
  FirstSeen after_restart(idx.get(), null_log(), clock.clock());
  clock.advance(4 * 3600);
  EXPECT_EQ(after_restart.seen("a.b/c", "v1.0.0"), t0 + hours(1));
  EXPECT_EQ(after_restart.seen("a.b/c", "v1.0.1"), t0 + hours(1));
  EXPECT_EQ(after_restart.seen("a.b/c", "v1.1.0"), t0 + hours(9));
}

// ready() tells beforehand whether seen() would read or write the index.
TEST(FirstSeen, ReadyOnlyWhenTheAnswerIsInMemory) {
  TestClock clock;
  auto idx = index::make_sqlite_index(":memory:");
  FirstSeen seen(idx.get(), null_log(), clock.clock());
  EXPECT_FALSE(seen.ready("a.b/c", "")) << "not loaded";
  EXPECT_FALSE(seen.ready("a.b/c", "v1.0.0"));
  (void)seen.seen("a.b/c", "v1.0.0");
  EXPECT_TRUE(seen.ready("a.b/c", ""));
  EXPECT_TRUE(seen.ready("a.b/c", "v1.0.0"));
  EXPECT_FALSE(seen.ready("a.b/c", "v1.1.0")) << "a new version is written to the index";
  seen.saw("a.b/c", {"v1.1.0"});
  EXPECT_TRUE(seen.ready("a.b/c", "v1.1.0"));

  FirstSeen peek(idx.get(), null_log(), clock.clock(), false);
  EXPECT_FALSE(peek.ready("a.b/c", "v9.0.0"));
  (void)peek.seen("a.b/c", "v1.0.0");
  EXPECT_TRUE(peek.ready("a.b/c", "v9.0.0")) << "nothing is recorded: no write";

  FirstSeen memory(nullptr, null_log(), clock.clock());
  EXPECT_TRUE(memory.ready("x.y/z", "v1.0.0")) << "no index: never waits";
}

TEST(CooldownFilter, ReadyWhereNoAgeApplies) {
  TestClock clock;
  auto idx = index::make_sqlite_index(":memory:");
  FirstSeen seen(idx.get(), null_log(), clock.clock());
  const auto policy = fixed_policy(k_rules);
  const auto f = make_policy_filter(*policy, &seen);
  const VersionFilter::Asked pinned{seconds(0), true};
  EXPECT_TRUE(f->ready("example.com/trusted", "v1.0.0", {})) << "no min_age";
  EXPECT_TRUE(f->ready("example.com/trusted", "", {}));
  EXPECT_TRUE(f->ready("example.com/m", "v2.0.0", {})) << "denied: no age asked";
  EXPECT_TRUE(f->ready("example.com/pinned", "v1.0.0", pinned)) << "pins pass";
  EXPECT_TRUE(f->ready("other.example/x", "", {})) << "no rule sets min_age";
  EXPECT_FALSE(f->ready("other.example/x", "", {hours(24), false})) << "the client's prefix";
  EXPECT_FALSE(f->ready("example.com/lib", "v1.0.0", pinned));
  EXPECT_FALSE(f->ready("example.com/lib", "", {}));
  EXPECT_TRUE(f->check("example.com/lib", "v1.0.0", "", pinned).hidden);
  EXPECT_TRUE(f->ready("example.com/lib", "v1.0.0", pinned));
  EXPECT_TRUE(f->ready("example.com/lib", "", {}));
}

// The first request for a module whose sightings are not in memory is answered on the pool:
// respond_now() (a serving thread) declines it, and answers the next one itself.
TEST(CooldownService, TheIndexIsReadOffTheServingThread) {
  TestClock clock;
  clock.advance(30 * k_day);
  auto idx = index::make_sqlite_index(":memory:");
  idx->record_seen("example.com/lib", {"v1.0.0"}, k_start * 1'000'000'000LL);
  FirstSeen seen(idx.get(), null_log(), clock.clock());
  const auto policy = fixed_policy(k_rules);
  const auto filter = make_policy_filter(*policy, &seen);
  ServiceOptions o;
  o.policy = policy.get();
  o.version_filter = filter.get();
  o.first_seen = &seen;
  fakes::ServiceHarness h(o);
  h.upstream().set("example.com/lib/@v/v1.0.0.info",
                   {Status::ok, R"({"Version":"v1.0.0","Time":"2025-01-01T00:00:00Z"})"});
  const HttpRequest req = fakes::make_request("GET", "/example.com/lib/@v/v1.0.0.info");
  EXPECT_FALSE(h.service().respond_now(req)) << "the index would be read on this thread";
  EXPECT_FALSE(seen.ready("example.com/lib", "")) << "respond_now() read nothing";
  EXPECT_EQ(h.handle(req).status, 200) << "a month after it was first seen";
  const auto again = h.service().respond_now(req);
  ASSERT_TRUE(again) << "the module is in memory now";
  EXPECT_EQ(again->status, 200);
  // Files of a module no rule holds back never wait.
  h.upstream().set("example.com/trusted/@v/v1.0.0.info",
                   {Status::ok, R"({"Version":"v1.0.0","Time":"2025-01-01T00:00:00Z"})"});
  EXPECT_EQ(h.handle(fakes::make_request("GET", "/example.com/trusted/@v/v1.0.0.info")).status,
            200);
  EXPECT_TRUE(
      h.service().respond_now(fakes::make_request("GET", "/example.com/trusted/@v/v1.0.0.info")));
}

// Through a whole Service: the upstream tags v1.1.0 "today".
class CooldownServiceTest : public ::testing::Test {
 protected:
  CooldownServiceTest()
      : m_policy(fixed_policy(k_rules)),
        m_seen(nullptr, null_log(), m_clock.clock()),
        m_filter(make_policy_filter(*m_policy, &m_seen)),
        m_h(options()) {}
  ServiceOptions options() {
    ServiceOptions o;
    o.policy = m_policy.get();
    o.version_filter = m_filter.get();
    o.first_seen = &m_seen;
    o.list_ttl = hours(1);
    return o;
  }

  void tag(const std::string& module, const std::string& version, std::int64_t time) {
    m_list += version + "\n";
    m_h.upstream().set(module + "/@v/list", {Status::ok, m_list});
    const std::string info = R"({"Version":")" + version + R"(","Time":")" + at(time) + R"("})";
    m_h.upstream().set(module + "/@v/" + version + ".info", {Status::ok, info});
    m_h.upstream().set(module + "/@latest", {Status::ok, info});
  }
  Response get(const std::string& target) { return m_h.get(target); }
  std::string latest(const std::string& prefix, const std::string& module) {
    const Response r = get(prefix + "/" + module + "/@latest");
    if (r.status != 200) return std::to_string(r.status) + " " + r.body;
    return parse_info(r.body)->version;
  }

  std::string m_list;
  TestClock m_clock;
  std::unique_ptr<policy::Policy> m_policy;
  FirstSeen m_seen;
  std::unique_ptr<VersionFilter> m_filter;
  fakes::ServiceHarness m_h;
};

TEST_F(CooldownServiceTest, LatestSkipsAYoungVersionUntilTheClockPasses) {
  const std::string m = "example.com/lib";
  tag(m, "v1.0.0", k_start - 300 * k_day);
  // Asked for at the start: seen now, so held back for a week whatever its Time.
  EXPECT_EQ(get("/" + m + "/@v/v1.0.0.info").status, 403);
  m_clock.advance(8 * k_day);
  tag(m, "v1.1.0", m_clock.now.load());  // tagged today
  EXPECT_EQ(latest("", m), "v1.0.0");
  EXPECT_EQ(get("/" + m + "/@v/list").body, "v1.0.0\n");
  const Response pinned = get("/" + m + "/@v/v1.1.0.info");
  EXPECT_EQ(pinned.status, 403);
  EXPECT_EQ(pinned.body, m + "@v1.1.0 is in cooldown until " + at(m_clock.now.load() + 7 * k_day) +
                             " (rule \"week\", min_age 1w)\n");
  EXPECT_EQ(m_h.upstream().hits(m + "/@v/v1.1.0.zip"), 0);
  m_clock.advance(7 * k_day);
  EXPECT_EQ(latest("", m), "v1.1.0");
  EXPECT_EQ(get("/" + m + "/@v/list").body, "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(get("/" + m + "/@v/v1.1.0.info").status, 200);
  const std::string metrics = m_h.registry().render();
  EXPECT_NE(metrics.find(
                R"(stoa_versions_filtered_total{rule="week",reason="cooldown",answer="latest"})"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(
                R"(stoa_versions_filtered_total{rule="week",reason="cooldown",answer="file"} 2)"),
            std::string::npos)
      << metrics;
}

TEST_F(CooldownServiceTest, TheCooldownPrefixServesTheSameStoreOlder) {
  const std::string m = "other.org/lib";  // no rule: only the prefix holds it
  tag(m, "v1.0.0", k_start - 300 * k_day);
  EXPECT_EQ(get("/cooldown/2d/" + m + "/@v/v1.0.0.info").status, 403);  // seen now
  m_clock.advance(3 * k_day);
  tag(m, "v1.1.0", m_clock.now.load());
  EXPECT_EQ(latest("", m), "v1.1.0");
  EXPECT_EQ(latest("/cooldown/2d", m), "v1.0.0");
  EXPECT_EQ(get("/cooldown/2d/" + m + "/@v/list").body, "v1.0.0\n");
  EXPECT_EQ(latest("/cooldown/1w", m).substr(0, 3), "403");  // nothing a week old
  const Response pinned = get("/cooldown/36h/" + m + "/@v/v1.1.0.info");
  EXPECT_EQ(pinned.status, 403);
  EXPECT_EQ(pinned.body, m + "@v1.1.0 is in cooldown until " + at(m_clock.now.load() + 36 * 3600) +
                             " (the client's /cooldown/1d12h prefix)\n");
  EXPECT_EQ(get("/cooldown/2d/" + m + "/@v/v1.0.0.info").status, 200);
  // Stored when fetched unprefixed, and still refused under the prefix.
  EXPECT_EQ(get("/" + m + "/@v/v1.1.0.info").status, 200);
  EXPECT_EQ(get("/cooldown/2d/" + m + "/@v/v1.1.0.info").status, 403);
  m_clock.advance(2 * k_day);
  EXPECT_EQ(latest("/cooldown/2d", m), "v1.1.0");
  EXPECT_EQ(get("/cooldown/2d/" + m + "/@v/v1.1.0.info").status, 200);
  for (const char* bad : {"/cooldown/7/other.org/lib/@latest", "/cooldown/0d/other.org/lib/@latest",
                          "/cooldown/7d", "/cooldown/7d/metrics", "/cooldown/7d/healthz"}) {
    EXPECT_EQ(get(bad).status, 404) << bad;
  }
}

}  // namespace
}  // namespace stoa::proxy
