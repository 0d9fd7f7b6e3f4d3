#include "stoa/web/site.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/modzip/archive.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"
#include "stoa/vulndb/mirror.hpp"
#include "stoa/web/pages.hpp"
#include "stoa/web/retract.hpp"
#include "stoa/web/style.hpp"
#include "stoa/web/vulns.hpp"

namespace stoa::web {
namespace {

using proxy::Response;

constexpr std::size_t k_per_page = 50;
constexpr std::size_t k_max_query = 256;       // longer search terms are cut
constexpr std::size_t k_max_timed = 100;       // versions whose .info is read for its Time
constexpr std::size_t k_max_gomod = 64 << 10;  // bytes of go.mod shown
constexpr std::size_t k_max_files = 2000;      // zip entries listed

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The value of `name` in the query of `target`, form-decoded ('+' is a space); "" when absent
// or malformed.
std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string raw(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    std::replace(raw.begin(), raw.end(), '+', ' ');
    return text::percent_decode(raw).value_or("");
  }
  return {};
}

Response constant(std::string_view content_type, std::string body, const char* cache) {
  Response r;
  r.status = 200;
  r.content_type = std::string(content_type);
  r.cache_control = cache;
  r.body = std::move(body);
  r.outcome = proxy::Outcome::internal;
  r.endpoint = "ui";
  add_security_headers(r);
  return r;
}

std::string version_json() {
  std::string out = R"({"name":"stoa","version":)";
  text::append_json_string(out, STOA_VERSION);
  out += R"(,"compiler":)";
  text::append_json_string(out, __VERSION__);
  out += R"(,"cplusplus":)" + std::to_string(__cplusplus);
#ifdef NDEBUG
  out += R"(,"assertions":false)";
#else
  out += R"(,"assertions":true)";
#endif
  return out + "}\n";
}

// Up to `max` bytes of a stored object.
std::string read_object(const store::Object& obj, std::size_t max, bool& truncated) {
  truncated = obj.size > max;
  const std::size_t want = std::min<std::uint64_t>(obj.size, max);
  if (const auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj.body)) {
    return (*bytes)->substr(0, want);
  }
  const int fd = std::get<fsio::UniqueFd>(obj.body).get();
  std::string out(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, out.data() + got, want - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

// The zip's entries read from its central directory (nothing extracted), or why not.
std::vector<ZipFile> zip_files(store::Object& obj, bool& truncated, std::string& note) {
  std::vector<ZipFile> out;
  fsio::UniqueFd own;
  int fd = -1;
  if (auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj.body)) {
    own = fsio::UniqueFd(::memfd_create("stoa-ui-zip", MFD_CLOEXEC));
    if (!own) throw std::system_error(errno, std::generic_category(), "memfd_create");
    std::size_t done = 0;
    const std::string& b = **bytes;
    while (done < b.size()) {
      const ssize_t n = ::write(own.get(), b.data() + done, b.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::system_error(errno, std::generic_category(), "write");
      done += static_cast<std::size_t>(n);
    }
    fd = own.get();
  } else {
    fd = std::get<fsio::UniqueFd>(obj.body).get();
  }
  std::string error;
  auto zip = modzip::detail::ZipArchive::open(fd, static_cast<std::int64_t>(obj.size), error);
  if (!zip) {
    note = "The stored zip cannot be read: " + error;
    return out;
  }
  for (const auto& e : zip->entries()) {
    if (out.size() >= k_max_files) {
      truncated = true;
      break;
    }
    out.push_back({e.name, e.size});
  }
  return out;
}

}  // namespace

void add_security_headers(Response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'self'; img-src 'self'; "
                         "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

struct Site::Who {
  std::shared_ptr<const policy::Snapshot> snap;  // null: no rules, everyone sees everything
  policy::AuthResult auth;
  bool visible(std::string_view module) const {
    if (snap == nullptr) return true;
    return snap->decide_as(module, "", auth).access == policy::Decision::Access::allowed;
  }
};

Site::Site(SiteOptions options, store::Store& store, index::Index* index, policy::Policy* policy,
           const proxy::VersionFilter* filter, const vulndb::Mirror* vulndb,
           const metrics::Registry& registry, fetch::WorkerPool& pool,
           std::shared_ptr<spdlog::logger> log)
    : m_options(std::move(options)),
      m_store(store),
      m_index(index),
      m_policy(policy),
      m_filter(filter),
      m_vulndb(vulndb),
      m_registry(registry),
      m_pool(pool),
      m_log(std::move(log)) {
  std::string ui = m_options.ui_path;
  while (!ui.empty() && ui.back() == '/') ui.pop_back();
  m_ui = ui;
}

void Site::set_listen_url(std::string url) {
  const std::lock_guard lock(m_mu);
  m_listen_url = std::move(url);
}

std::string Site::goproxy() const {
  std::string base = m_options.external_url;
  if (base.empty()) {
    const std::lock_guard lock(m_mu);
    base = m_listen_url;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + m_options.path_prefix;
}

bool Site::owns(std::string_view target) const {
  const std::string_view path = path_of(target);
  if (path == "/robots.txt" || path == "/version") return true;
  if (!m_ui.empty()) {
    return path == m_ui ||
           (path.starts_with(m_ui) && path.size() > m_ui.size() && path[m_ui.size()] == '/');
  }
  return path == "/" || path == "/search" || path == "/setup" || path == "/status" ||
         path == "/-/style.css" || path.starts_with("/m/");
}

std::optional<Response> Site::respond_now(const proxy::HttpRequest& req) {
  const bool head = req.method == "HEAD";
  if (req.method != "GET" && !head) {
    Response r = proxy::error_response(405, "method not allowed", proxy::Outcome::rejected);
    r.headers.emplace_back("Allow", "GET, HEAD");
    r.endpoint = "ui";
    add_security_headers(r);
    return r;
  }
  const std::string_view path = path_of(req.target);
  std::optional<Response> out;
  if (path == "/robots.txt") {
    out = constant("text/plain; charset=utf-8", "User-agent: *\nDisallow: /\n",
                   "public, max-age=3600");
  } else if (path == "/version") {
    out = constant("application/json", version_json(), "no-cache");
  } else if (path == m_ui + "/-/style.css") {
    out = constant("text/css; charset=utf-8", std::string(k_style), "public, max-age=3600");
  }
  if (out) out->head = head;
  return out;
}

void Site::handle(const proxy::HttpRequest& req, Done done) {
  if (auto now = respond_now(req)) return done(std::move(*now));
  auto shared = std::make_shared<Done>(std::move(done));
  const bool queued = m_pool.try_submit([this, req, shared] {
    Response r;
    try {
      r = render(req);
    } catch (const std::exception& e) {
      m_log->error("ui: {} failed: {}", req.target.substr(0, 200), e.what());
      r = page(503,
               "<!DOCTYPE html><title>unavailable</title><p>The page cannot be shown now.</p>");
    }
    r.head = req.method == "HEAD";
    (*shared)(std::move(r));
  });
  if (!queued) {
    Response r = proxy::error_response(503, "busy; retry shortly", proxy::Outcome::rejected);
    r.headers.emplace_back("Retry-After", "1");
    r.endpoint = "ui";
    add_security_headers(r);
    (*shared)(std::move(r));
  }
}

proxy::Handler Site::wrap(const proxy::Handler& inner) {
  proxy::Handler h;
  h.respond_now = [this, inner_now = inner.respond_now](const proxy::HttpRequest& req) {
    if (owns(req.target)) return respond_now(req);
    return inner_now(req);
  };
  h.handle = [this, inner_handle = inner.handle](const proxy::HttpRequest& req,
                                                 std::function<void(Response)> done) {
    if (owns(req.target)) return handle(req, std::move(done));
    inner_handle(req, std::move(done));
  };
  return h;
}

void Site::sample() {
  (void)m_pool.try_submit([this] {
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    m_history.add(parse_exposition(m_registry.render()), now);
  });
}

Site::Who Site::who(std::string_view authorization) const {
  Who w;
  if (m_policy == nullptr) return w;
  auto snap = m_policy->current();
  w.auth = snap->credentials->authenticate(authorization);
  if (!m_policy->no_rules()) w.snap = std::move(snap);
  return w;
}

std::shared_ptr<const Catalog> Site::catalog() {
  if (m_index == nullptr) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  {
    const std::lock_guard lock(m_mu);
    if (m_catalog && now - m_catalog_at < m_options.catalog_ttl) return m_catalog;
  }
  const std::lock_guard loading(m_loading);
  std::shared_ptr<const Catalog> held;
  bool whole = false;
  {
    const std::lock_guard lock(m_mu);
    if (m_catalog && now - m_catalog_at < m_options.catalog_ttl) return m_catalog;
    held = m_catalog;
    whole = !held || now - m_catalog_full_at >= m_options.catalog_reload;
  }
  constexpr std::size_t k_merge_max = 10'000;  // more new versions than this: read it all
  std::shared_ptr<const Catalog> fresh;
  try {
    if (!whole) {
      const index::Entry* last = held->newest();
      auto more = last == nullptr
                      ? m_index->since(0, "", "", k_merge_max)
                      : m_index->since(last->stored_ns, last->module, last->version, k_merge_max);
      if (more.size() >= k_merge_max) {
        whole = true;
      } else {
        fresh = more.empty() ? held : held->with(std::move(more));
      }
    }
    if (whole) fresh = Catalog::load(*m_index);
  } catch (const std::exception& e) {
    m_log->error("ui: cannot read the index: {}", e.what());
    const std::lock_guard lock(m_mu);
    return m_catalog ? m_catalog : std::make_shared<const Catalog>(std::vector<index::Entry>{});
  }
  const std::lock_guard lock(m_mu);
  m_catalog = fresh;
  m_catalog_at = std::chrono::steady_clock::now();
  if (whole) m_catalog_full_at = m_catalog_at;
  return fresh;
}

Frame Site::frame() const {
  // ui_path and path_prefix were checked when the options were read; "/" if not.
  auto base = Url::local(m_options.path_prefix + m_ui + "/");
  auto root = Url::local(m_options.path_prefix + "/");
  return {base ? *base : *Url::local("/"), root ? *root : *Url::local("/"), STOA_VERSION};
}

Response Site::page(int status, std::string body) const {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  // Pages depend on who asks (private modules): no shared cache may keep them.
  r.cache_control = "no-store";
  r.body = std::move(body);
  r.outcome = status == 404 ? proxy::Outcome::not_found : proxy::Outcome::internal;
  r.endpoint = "ui";
  add_security_headers(r);
  return r;
}

Response Site::render(const proxy::HttpRequest& req) {
  const std::string_view path = path_of(req.target);
  const Who w = who(req.authorization);
  const std::string_view rel =
      path.size() >= m_ui.size() ? path.substr(m_ui.size()) : std::string_view();
  if (rel.empty() || rel == "/") return home(w);
  if (rel == "/search") {
    std::string q = query_param(req.target, "q");
    if (q.size() > k_max_query) q.resize(k_max_query);
    return search(w, q, query_param(req.target, "page"));
  }
  if (rel == "/setup") return setup();
  if (rel == "/status") return status(w);
  if (rel.starts_with("/m/")) return module(w, rel.substr(3));
  const Frame f = frame();
  return page(404, not_found_page(f, std::string(rel.substr(1))));
}

Response Site::home(const Who& w) {
  const Frame f = frame();
  HomeView v;
  v.goproxy = goproxy();
  const auto cat = catalog();
  v.totals.indexed = cat != nullptr;
  if (cat) {
    for (const auto& m : cat->modules()) {
      if (!w.visible(m.path)) continue;
      ++v.totals.modules;
      v.totals.versions += m.versions;
      v.totals.bytes += m.bytes;
    }
    for (const auto* e : cat->recent(10, [&](const ModuleSummary& m) { return w.visible(m.path); }))
      v.recent.push_back(*e);
  }
  if (!m_options.upstream.empty()) {
    const auto samples = parse_exposition(m_registry.render());
    const double all = sum(samples, "stoa_upstream_fetches_total");
    const double ok = sum(samples, "stoa_upstream_fetches_total", {{"result", "ok"}});
    const double absent = sum(samples, "stoa_upstream_fetches_total", {{"result", "not_found"}});
    v.upstreams.push_back({m_options.upstream, static_cast<std::uint64_t>(ok),
                           static_cast<std::uint64_t>(std::max(0.0, all - ok - absent))});
  }
  return page(200, home_page(f, v));
}

Response Site::search(const Who& w, std::string_view query, std::string_view page_param) {
  const Frame f = frame();
  SearchView v;
  v.query = std::string(query);
  const auto page_no = text::parse_u64(page_param);
  v.page = page_no && *page_no < 1'000'000 ? static_cast<std::size_t>(*page_no) : 0;
  const auto cat = catalog();
  v.indexed = cat != nullptr;
  if (cat) {
    const auto found = cat->search(text::trim_space(v.query), v.page, k_per_page,
                                   [&](const ModuleSummary& m) { return w.visible(m.path); });
    for (const auto* m : found.modules) v.modules.push_back(*m);
    v.total = found.total;
    v.more = found.more;
  }
  return page(200, search_page(f, v));
}

Response Site::module(const Who& w, std::string_view rest) {
  const Frame f = frame();
  const auto decoded = text::percent_decode(rest);
  if (!decoded) return page(404, not_found_page(f, rest));
  std::string path = *decoded;
  std::string wanted;
  if (const auto at = path.find("/@"); at != std::string::npos) {
    wanted = path.substr(at + 2);
    path.resize(at);
  }
  // What a module the client may not see looks like: exactly a module that does not exist.
  const auto nothing = [&] { return page(404, not_found_page(f, path)); };
  if (module::check_path(path) || !w.visible(path)) return nothing();
  const auto escaped = module::escape_path(path);
  if (!escaped) return nothing();

  ModuleView v;
  v.path = path;
  if (const auto cat = catalog()) {
    for (const auto* e : cat->versions(path)) v.versions.push_back({*e, {}, {}});
  }
  for (const auto& ev : m_store.versions(*escaped)) {
    const auto version = module::unescape_version(ev);
    if (!version) continue;
    const bool known = std::any_of(v.versions.begin(), v.versions.end(), [&](const VersionRow& r) {
      return r.entry.version == *version;
    });
    if (known) continue;
    VersionRow r;
    r.entry.module = path;
    r.entry.version = *version;
    v.versions.push_back(std::move(r));
  }
  if (v.versions.empty()) return nothing();
  std::sort(v.versions.begin(), v.versions.end(), [](const VersionRow& a, const VersionRow& b) {
    const int c = module::semver::compare(a.entry.version, b.entry.version);
    return c != 0 ? c > 0 : a.entry.version > b.entry.version;
  });
  if (!wanted.empty()) {
    const auto it = std::find_if(v.versions.begin(), v.versions.end(),
                                 [&](const VersionRow& r) { return r.entry.version == wanted; });
    if (it == v.versions.end()) return nothing();
    v.selected = static_cast<std::size_t>(it - v.versions.begin());
  }

  const auto key = [&](std::string_view version, std::string_view ext) {
    return *escaped + "/@v/" + module::escape_version(version).value_or("") + std::string(ext);
  };
  // Times from the .info files of the newest versions.
  for (std::size_t i = 0; i < v.versions.size() && i < k_max_timed; ++i) {
    auto info = m_store.get(key(v.versions[i].entry.version, ".info"));
    if (!info) continue;
    bool cut = false;
    const std::string body = read_object(*info, 16 << 10, cut);
    boost::system::error_code ec;
    const auto json = boost::json::parse(body, ec);
    if (ec || !json.is_object()) continue;
    if (const auto* t = json.as_object().if_contains("Time"); t != nullptr && t->is_string()) {
      v.versions[i].time = std::string(t->as_string());
    }
  }
  // Retractions, as the go command reads them: from the go.mod of the newest release.
  std::vector<Retraction> retractions;
  const auto newest_release =
      std::find_if(v.versions.begin(), v.versions.end(),
                   [](const VersionRow& r) { return !module::semver::is_pseudo(r.entry.version); });
  if (newest_release != v.versions.end()) {
    if (auto mod = m_store.get(key(newest_release->entry.version, ".mod"))) {
      bool cut = false;
      retractions = parse_retractions(read_object(*mod, k_max_gomod, cut));
    }
  }
  std::shared_ptr<const vulndb::Snapshot> vdb = m_vulndb ? m_vulndb->current() : nullptr;
  v.vulndb = vdb != nullptr;
  std::vector<const vulndb::Affected*> affecting;
  if (vdb) {
    for (const auto& e : vdb->entries()) {
      for (const auto& a : e.affected) {
        if (a.name != path) continue;
        v.vulns.push_back({e.id, e.aliases, describe(a)});
        affecting.push_back(&a);
      }
    }
  }
  for (auto& r : v.versions) {
    if (const auto* why = retracted(retractions, r.entry.version)) {
      r.marks.emplace_back("retracted",
                           why->rationale.empty() ? "no reason given" : why->rationale);
    }
    if (m_filter != nullptr) {
      const auto verdict = m_filter->check(path, r.entry.version, r.time);
      if (verdict.hidden) {
        r.marks.emplace_back(verdict.cause.empty() ? "filtered" : verdict.cause, verdict.reason);
      }
    }
    std::string ids;
    for (std::size_t i = 0; i < affecting.size(); ++i) {
      for (const auto& range : affecting[i]->ranges) {
        if (range.type == "SEMVER" && affects(range, r.entry.version)) {
          if (!ids.empty()) ids += ", ";
          ids += v.vulns[i].id;
          break;
        }
      }
    }
    if (!ids.empty()) r.marks.emplace_back("vulnerable", ids);
  }

  const VersionRow& sel = v.versions[v.selected];
  if (auto mod = m_store.get(key(sel.entry.version, ".mod"))) {
    v.gomod = read_object(*mod, k_max_gomod, v.gomod_truncated);
  }
  if (auto zip = m_store.get(key(sel.entry.version, ".zip"))) {
    v.files = zip_files(*zip, v.files_truncated, v.files_note);
  } else {
    v.files_note = "The zip of this version is not stored (only its .info or .mod was asked for).";
  }
  return page(200, module_page(f, v));
}

Response Site::setup() {
  const Frame f = frame();
  SetupView v;
  v.goproxy = goproxy();
  v.private_globs = m_options.private_globs;
  if (m_policy != nullptr) {
    const auto snap = m_policy->current();
    v.auth = !snap->credentials->empty();
    std::string globs = v.private_globs;
    for (const auto& rule : snap->rules.rules) {
      if (rule.action != policy::Action::private_) continue;
      std::string_view list = rule.modules;
      while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string g(text::trim_space(list.substr(0, comma)));
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
        if (g.empty() || ("," + globs + ",").find("," + g + ",") != std::string::npos) continue;
        if (!globs.empty()) globs += ',';
        globs += g;
      }
    }
    v.private_globs = globs;
  }
  std::string host = v.goproxy;
  if (const auto s = host.find("://"); s != std::string::npos) host = host.substr(s + 3);
  host = host.substr(0, host.find('/'));
  if (const auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
  // The go command matches a netrc machine against host:port when the URL has a port.
  v.host = host;
  v.sumdb = m_options.sumdb_name;
  v.vulndb = m_vulndb != nullptr;
  return page(200, setup_page(f, v));
}

Response Site::status(const Who& w) {
  const Frame f = frame();
  StatusView v = status_of(parse_exposition(m_registry.render()));
  struct statvfs st {};
  if (!m_options.data_dir.empty() && ::statvfs(m_options.data_dir.c_str(), &st) == 0) {
    v.free_bytes = static_cast<std::int64_t>(st.f_bavail * st.f_frsize);
    v.total_bytes = static_cast<std::int64_t>(st.f_blocks * st.f_frsize);
  }
  v.lock = m_options.lock.empty() ? "none" : m_options.lock;
  v.sumdb = m_options.sumdb_name;
  v.charts = m_history.series();
  // Errors may name private modules: shown to authenticated clients, or to anyone when this
  // proxy has no credentials and no private modules at all.
  const bool open = m_options.private_globs.empty() &&
                    (m_policy == nullptr || m_policy->current()->credentials->empty());
  v.errors_shown = open || w.auth.status == policy::AuthResult::Status::ok;
  if (v.errors_shown && m_options.last_errors) v.last_errors = m_options.last_errors();
  return page(200, status_page(f, v));
}

}  // namespace stoa::web
