#include "stoa/proxy/index_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <string>
#include <utility>

#include "stoa/index/index.hpp"
#include "stoa/index/visible.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/index_access.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::proxy {

bool is_index_target(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/index" || path == "/catalog";
}

namespace {

Response bad(const std::string& why) {
  return error_response(400, "bad request: " + why, Outcome::rejected);
}

// One "name=value" of the query into `q`; the 400 when it is not acceptable.
std::optional<Response> parse_parameter(std::string_view name, const std::string& value,
                                        IndexQuery& q) {
  const std::size_t max = q.catalog ? k_catalog_max : k_feed_max;
  if (name == "limit") {
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > max) {
      return bad("limit must be a number from 1 to " + std::to_string(max));
    }
    q.limit = n;
  } else if (name == "since" && !q.catalog) {
    const auto ns = index::parse_rfc3339(value);
    if (!ns) return bad("since must be an RFC 3339 time, e.g. 2024-01-02T03:04:05Z");
    q.since_ns = *ns;
  } else if (name == "cursor" && q.catalog) {
    const auto c = index::decode_cursor(value);
    if (!c) return bad("malformed cursor");
    q.from = *c;
  } else {
    return bad("unknown parameter " + std::string(name.substr(0, 32)));
  }
  return std::nullopt;
}

}  // namespace

std::variant<IndexQuery, Response> parse_index_query(std::string_view target) {
  IndexQuery q;
  const auto qm = target.find('?');
  q.catalog = target.substr(0, qm) == "/catalog";
  q.limit = q.catalog ? k_catalog_default : k_feed_max;
  std::string_view rest = qm == std::string_view::npos ? "" : target.substr(qm + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto value =
        text::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) return bad("malformed query");
    if (auto refused = parse_parameter(pair.substr(0, eq), *value, q)) return std::move(*refused);
  }
  return q;
}

IndexEndpoint::IndexEndpoint(index::Index& index, policy::Policy* policy,
                             const VersionFilter* filter, Logins& logins, fetch::WorkerPool& pool,
                             std::shared_ptr<spdlog::logger> log)
    : m_index(index),
      m_policy(policy),
      m_filter(filter),
      m_logins(logins),
      m_pool(pool),
      m_log(std::move(log)) {}

void IndexEndpoint::fetch(const HttpRequest& req, const IndexQuery& q, Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  if (!req.authorization.empty() && m_policy != nullptr && !m_policy->no_rules()) {
    // What is listed depends on the credentials: limited and checked as for a restricted module.
    if (auto limited = m_logins.limited(req)) return (*shared_done)(std::move(*limited));
    const auto snap = m_policy->current();
    if (snap->credentials->is_slow(req.authorization)) {
      const bool queued = m_logins.submit([this, req, q, shared_done] {
        const trace::ScopedLogContext log_scope(req.log);
        if (auto limited = m_logins.limited(req)) return (*shared_done)(std::move(*limited));
        (void)m_policy->current()->credentials->authenticate(req.authorization);
        fetch(req, q, std::move(*shared_done));  // the verdict is remembered: fast now
      });
      if (!queued) (*shared_done)(Logins::busy());
      return;
    }
    if (snap->credentials->authenticate(req.authorization).status !=
        policy::AuthResult::Status::ok) {
      m_logins.failed(req);
    }
  }
  const bool queued =
      m_pool.try_submit([this, q, shared_done, auth = req.authorization, log = req.log] {
        const trace::ScopedLogContext log_scope(log);
        (*shared_done)(read(q, auth));
      });
  if (!queued) (*shared_done)(retry_answer("stoa is busy; retry shortly"));
}

Response IndexEndpoint::read(const IndexQuery& q, std::string_view authorization) {
  try {
    // Only what this client could read (index_access.hpp), and what the filter lets through.
    index::Visible visible = visible_to(m_policy, authorization);
    if (m_filter != nullptr) {
      visible = [readable = std::move(visible), f = m_filter](const index::Entry& e) {
        return readable(e) && !f->check(e.module, e.version, "").hidden;
      };
    }
    if (q.catalog) {
      const auto page = index::visible_page(m_index, q.from, q.limit, visible);
      Response resp = text_answer(
          200,
          index::render_catalog(page.entries, page.next ? index::encode_cursor(*page.next) : ""),
          Outcome::internal);
      resp.content_type = "application/json";
      return resp;
    }
    auto feed = index::visible_since(m_index, q.since_ns, q.limit, visible);
    if (feed.cut && feed.entries.empty()) {
      // The feed cannot point past entries it does not show; an empty page would read as "no
      // more" (see visible.hpp).
      m_log->warn(
          "/index: more than {} entries in a row after since={} are hidden from this "
          "client; answering 503",
          index::k_scan_max, index::format_rfc3339(q.since_ns));
      return error_response(503,
                            "more than " + std::to_string(index::k_scan_max) +
                                " index entries in a row are not visible to this client",
                            Outcome::failed);
    }
    Response resp = text_answer(200, index::render_feed(feed.entries), Outcome::internal);
    resp.content_type = "application/json";
    return resp;
  } catch (const std::exception& e) {
    m_log->error("index read failed: {}", e.what());
    return retry_answer("the index is unavailable; retry shortly");
  }
}

}  // namespace stoa::proxy
