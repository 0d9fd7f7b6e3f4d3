#include "stoa/web/pages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "stoa/index/feed.hpp"

namespace stoa::web {
namespace {

// A fixed path of the site under `base` ('/' kept).
Url link(const Url& base, std::string_view path) {
  Url u = base;
  u.segment(path, true);
  return u;
}

Url module_link(const Frame& f, std::string_view module, std::string_view version = {}) {
  Url u = f.base;
  u.segment("m").segment(module, true);
  if (!version.empty()) u.segment("@" + std::string(version));
  return u;
}

std::string when(std::int64_t ns) {
  if (ns <= 0) return "-";
  std::string s = index::format_rfc3339(ns);
  // Seconds are enough on a page.
  if (const auto dot = s.find('.'); dot != std::string::npos) s = s.substr(0, dot) + "Z";
  return s;
}

void head(Html& h, const Frame& f, std::string_view title, std::string_view query = {}) {
  h.markup("<!DOCTYPE html>").open("html", {{"lang", "en"}}).open("head");
  h.empty("meta", {{"charset", "utf-8"}});
  h.empty("meta", {{"name", "viewport"}, {"content", "width=device-width, initial-scale=1"}});
  h.element("title", std::string(title) + " \xC2\xB7 stoa");
  h.empty("link", {{"rel", "stylesheet"}, {"href", link(f.base, "-/style.css")}});
  h.close("head").open("body");
  h.open("header").open("nav");
  h.element("a", "stoa", {{"href", f.base}, {"class", "brand"}});
  h.element("a", "Search", {{"href", link(f.base, "search")}});
  h.element("a", "Setup", {{"href", link(f.base, "setup")}});
  h.element("a", "Status", {{"href", link(f.base, "status")}});
  h.close("nav");
  h.open("form", {{"action", link(f.base, "search")}, {"method", "get"}, {"role", "search"}});
  h.empty("input", {{"type", "search"},
                    {"name", "q"},
                    {"value", query},
                    {"placeholder", "Search modules"},
                    {"aria-label", "Search modules"}});
  h.element("button", "Search", {{"type", "submit"}});
  h.close("form").close("header").open("main");
}

std::string foot(Html& h, const Frame& f) {
  h.close("main").open("footer").text("stoa " + f.version + " \xC2\xB7 a Go module proxy");
  h.close("footer").close("body").close("html");
  return h.take();
}

void copyable(Html& h, std::string_view text) { h.element("pre", text, {{"class", "copy"}}); }

void dl_row(Html& h, std::string_view term, std::string_view value) {
  h.element("dt", term).element("dd", value);
}

std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ps_quote(std::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string yaml_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string format_bytes(std::int64_t n) {
  if (n < 0) return "-";
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  auto v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(k_units)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, k_units[u]);
}

std::string home_page(const Frame& f, const HomeView& v) {
  Html h;
  head(h, f, "Home");
  h.element("h1", "stoa: a Go module proxy");
  h.element("p",
            "This server answers the go command's module requests: it keeps every module version "
            "it serves, checks them against the checksum database, and serves them again without "
            "asking anyone. Point the go command at it:");
  copyable(h, "go env -w GOPROXY=" + v.goproxy);
  h.open("p").text("More ways (shells, Docker, CI) on the ");
  h.element("a", "setup page", {{"href", link(f.base, "setup")}}).text(".").close("p");

  h.element("h2", "What is here");
  if (!v.totals.indexed) {
    h.element("p", "This proxy keeps no index (index = none): nothing to list or search.");
  } else {
    h.open("ul", {{"class", "totals"}});
    h.open("li").element("strong", std::to_string(v.totals.modules)).text(" modules").close("li");
    h.open("li").element("strong", std::to_string(v.totals.versions)).text(" versions").close("li");
    h.open("li").element("strong", format_bytes(v.totals.bytes)).text(" of zips").close("li");
    h.close("ul");
  }

  if (!v.recent.empty()) {
    h.element("h2", "Recently added");
    h.open("ul", {{"class", "recent"}});
    for (const auto& e : v.recent) {
      h.open("li");
      h.element("a", e.module + "@" + e.version, {{"href", module_link(f, e.module, e.version)}});
      h.text(" ").element("time", when(e.stored_ns));
      h.close("li");
    }
    h.close("ul");
  }

  h.element("h2", "Upstreams");
  if (v.upstreams.empty()) {
    h.element("p", "No upstream: this proxy serves what it stores.");
  } else {
    h.open("table").open("thead").open("tr");
    h.element("th", "upstream").element("th", "fetched").element("th", "failed");
    h.close("tr").close("thead").open("tbody");
    for (const auto& u : v.upstreams) {
      h.open("tr").element("td", u.name).element("td", std::to_string(u.ok));
      h.element("td", std::to_string(u.failed), {{"class", u.failed > 0 ? "warn" : ""}});
      h.close("tr");
    }
    h.close("tbody").close("table");
  }
  return foot(h, f);
}

std::string search_page(const Frame& f, const SearchView& v) {
  Html h;
  head(h, f, v.query.empty() ? "Search" : "Search: " + v.query, v.query);
  h.element("h1", "Search");
  if (!v.indexed) {
    h.element("p", "This proxy keeps no index (index = none): nothing to search.");
    return foot(h, f);
  }
  h.open("p", {{"class", "count"}});
  h.text(std::to_string(v.total) + (v.total == 1 ? " module" : " modules"));
  if (!v.query.empty()) h.text(" matching ").element("code", v.query);
  h.close("p");
  if (!v.modules.empty()) {
    h.open("ol", {{"class", "results"}, {"start", std::to_string(v.page * 50 + 1)}});
    for (const auto& m : v.modules) {
      h.open("li");
      h.element("a", m.path, {{"href", module_link(f, m.path)}});
      h.open("span", {{"class", "meta"}});
      h.text(" " + m.latest + " \xC2\xB7 " + std::to_string(m.versions) +
             (m.versions == 1 ? " version" : " versions") + " \xC2\xB7 " + when(m.last_stored_ns));
      h.close("span").close("li");
    }
    h.close("ol");
  }
  h.open("nav", {{"class", "pager"}});
  if (v.page > 0) {
    Url prev = link(f.base, "search");
    prev.query("q", v.query).query("page", std::to_string(v.page - 1));
    h.element("a", "\xE2\x86\x90 previous", {{"href", prev}, {"rel", "prev"}});
  }
  if (v.more) {
    Url next = link(f.base, "search");
    next.query("q", v.query).query("page", std::to_string(v.page + 1));
    h.element("a", "next \xE2\x86\x92", {{"href", next}, {"rel", "next"}});
  }
  h.close("nav");
  return foot(h, f);
}

std::string module_page(const Frame& f, const ModuleView& v) {
  Html h;
  head(h, f, v.path);
  h.element("h1", v.path, {{"class", "module"}});
  const VersionRow* sel = v.versions.empty() ? nullptr : &v.versions[v.selected];
  copyable(h, "go get " + v.path + "@" + (sel != nullptr ? sel->entry.version : "latest"));

  h.element("h2", "Versions");
  h.open("table", {{"class", "versions"}}).open("thead").open("tr");
  h.element("th", "version").element("th", "time").element("th", "size").element("th", "notes");
  h.close("tr").close("thead").open("tbody");
  for (std::size_t i = 0; i < v.versions.size(); ++i) {
    const VersionRow& r = v.versions[i];
    h.open("tr", {{"class", i == v.selected ? "selected" : ""}});
    h.open("td");
    h.element("a", r.entry.version, {{"href", module_link(f, v.path, r.entry.version)}});
    h.close("td");
    h.element("td", r.time.empty() ? "-" : r.time);
    h.element("td", format_bytes(r.entry.zip_size));
    h.open("td");
    for (const auto& [kind, why] : r.marks) {
      h.open("span", {{"class", "mark mark-" + kind}});
      h.element("b", kind).text(": " + why);
      h.close("span");
    }
    h.close("td").close("tr");
  }
  h.close("tbody").close("table");

  if (sel != nullptr) {
    h.element("h2", sel->entry.version);
    h.open("dl", {{"class", "facts"}});
    dl_row(h, "time", sel->time.empty() ? "-" : sel->time);
    dl_row(h, "zip size", format_bytes(sel->entry.zip_size));
    dl_row(h, "zip h1", sel->entry.zip_h1.empty() ? "-" : sel->entry.zip_h1);
    dl_row(h, "go.mod h1", sel->entry.mod_h1.empty() ? "-" : sel->entry.mod_h1);
    dl_row(h, "from", sel->entry.origin.empty() ? "-" : sel->entry.origin);
    dl_row(h, "first stored", when(sel->entry.stored_ns));
    h.close("dl");

    h.element("h3", "go.mod");
    if (v.gomod.empty()) {
      h.element("p", "Not stored.");
    } else {
      h.element("pre", v.gomod, {{"class", "gomod"}});
      if (v.gomod_truncated) h.element("p", "(cut at 64 KiB)");
    }

    h.element("h3", "Files");
    if (!v.files_note.empty()) {
      h.element("p", v.files_note);
    } else {
      h.open("table", {{"class", "files"}}).open("tbody");
      for (const auto& file : v.files) {
        h.open("tr")
            .element("td", file.name)
            .element("td", format_bytes(static_cast<std::int64_t>(file.size)));
        h.close("tr");
      }
      h.close("tbody").close("table");
      if (v.files_truncated) h.element("p", "(only the first files are listed)");
    }
  }

  if (v.vulndb) {
    h.element("h2", "Known vulnerabilities");
    if (v.vulns.empty()) {
      h.element("p", "None in the mirrored vulnerability database.");
    } else {
      h.open("ul", {{"class", "vulns"}});
      for (const auto& vu : v.vulns) {
        Url u = f.root;
        u.segment("vulndb").segment("ID").segment(vu.id + ".json");
        h.open("li").element("a", vu.id, {{"href", u}});
        std::string aliases;
        for (const auto& a : vu.aliases) aliases += (aliases.empty() ? " (" : ", ") + a;
        if (!aliases.empty()) aliases += ")";
        h.text(aliases + ": " + vu.affects).close("li");
      }
      h.close("ul");
    }
  }
  return foot(h, f);
}

std::vector<std::pair<std::string, std::string>> setup_snippets(const SetupView& v) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string sh = "export GOPROXY=" + sh_quote(v.goproxy) + "\n";
  std::string fish = "set -gx GOPROXY " + sh_quote(v.goproxy) + "\n";
  std::string ps = "$env:GOPROXY = " + ps_quote(v.goproxy) + "\n";
  std::string docker = "ENV GOPROXY=" + v.goproxy + "\n";
  std::string gha = "env:\n  GOPROXY: " + yaml_quote(v.goproxy) + "\n";
  std::string gitlab = "variables:\n  GOPROXY: " + yaml_quote(v.goproxy) + "\n";
  if (!v.private_globs.empty()) {
    sh += "export GONOSUMDB=" + sh_quote(v.private_globs) + "\n";
    fish += "set -gx GONOSUMDB " + sh_quote(v.private_globs) + "\n";
    ps += "$env:GONOSUMDB = " + ps_quote(v.private_globs) + "\n";
    docker += "ENV GONOSUMDB=" + v.private_globs + "\n";
    gha += "  GONOSUMDB: " + yaml_quote(v.private_globs) + "\n";
    gitlab += "  GONOSUMDB: " + yaml_quote(v.private_globs) + "\n";
  }
  if (!v.sumdb.empty()) {
    const std::string db = v.sumdb + " " + v.goproxy + "/sumdb/" + v.sumdb;
    sh += "export GOSUMDB=" + sh_quote(db) + "\n";
    fish += "set -gx GOSUMDB " + sh_quote(db) + "\n";
    ps += "$env:GOSUMDB = " + ps_quote(db) + "\n";
    docker += "ENV GOSUMDB=\"" + db + "\"\n";
    gha += "  GOSUMDB: " + yaml_quote(db) + "\n";
    gitlab += "  GOSUMDB: " + yaml_quote(db) + "\n";
  }
  if (v.auth) {
    const std::string netrc = "machine " + v.host + " login USER password TOKEN";
    sh +=
        "# credentials: the go command reads ~/.netrc (GOAUTH=netrc)\nexport GOAUTH=netrc\n"
        "printf '%s\\n' " +
        sh_quote(netrc) + " >> ~/.netrc && chmod 600 ~/.netrc\n";
    fish += "set -gx GOAUTH netrc\n# add to ~/.netrc: " + netrc + "\n";
    ps += "$env:GOAUTH = 'netrc'\n# add to $HOME\\_netrc: " + netrc + "\n";
    docker +=
        "ENV GOAUTH=netrc\n"
        "# the credentials as a build secret, never in a layer:\n"
        "RUN --mount=type=secret,id=netrc,target=/root/.netrc go mod download\n";
    gha += "  GOAUTH: netrc\nsteps:\n  - run: printf 'machine %s login %s password %s\\n' " +
           sh_quote(v.host) +
           " \"${{ secrets.GOPROXY_USER }}\" \"${{ secrets.GOPROXY_TOKEN }}\" > ~/.netrc\n";
    gitlab += "  GOAUTH: netrc\nbefore_script:\n  - printf 'machine %s login %s password %s\\n' " +
              sh_quote(v.host) + " \"$GOPROXY_USER\" \"$GOPROXY_TOKEN\" > ~/.netrc\n";
  }
  out.emplace_back("bash / zsh", sh);
  out.emplace_back("fish", fish);
  out.emplace_back("PowerShell", ps);
  out.emplace_back("Dockerfile", docker);
  out.emplace_back("GitHub Actions", gha);
  out.emplace_back("GitLab CI", gitlab);
  if (v.vulndb) {
    out.emplace_back("govulncheck",
                     "govulncheck -db " + sh_quote(v.goproxy + "/vulndb") + " ./...\n");
  }
  return out;
}

std::string setup_page(const Frame& f, const SetupView& v) {
  Html h;
  head(h, f, "Setup");
  h.element("h1", "Use this proxy");
  h.element("p", "The quickest way, for every go command of this user:");
  copyable(h, "go env -w GOPROXY=" + v.goproxy);
  if (!v.private_globs.empty()) {
    h.open("p").text("Modules matching ").element("code", v.private_globs);
    h.text(
        " are private: the checksum database must not be asked about them, so set GONOSUMDB "
        "(not GOPRIVATE, which would make the go command bypass this proxy for them).");
    h.close("p");
  }
  if (v.auth) {
    h.element("p",
              "This proxy asks for credentials: the go command sends them from ~/.netrc "
              "(GOAUTH=netrc). Replace USER and TOKEN below with yours.");
  }
  if (!v.sumdb.empty()) {
    h.open("p").text("The checksum database ").element("code", v.sumdb);
    h.text(
        " is proxied here too; the go command finds it through GOPROXY, or set GOSUMDB as "
        "below to name it.");
    h.close("p");
  }
  h.open("nav", {{"class", "tabs"}});
  const auto snippets = setup_snippets(v);
  for (std::size_t i = 0; i < snippets.size(); ++i) {
    Url u = link(f.base, "setup");
    u.fragment("s" + std::to_string(i));
    h.element("a", snippets[i].first, {{"href", u}});
  }
  h.close("nav");
  for (std::size_t i = 0; i < snippets.size(); ++i) {
    h.open("section", {{"id", "s" + std::to_string(i)}, {"class", "snippet"}});
    h.element("h2", snippets[i].first);
    copyable(h, snippets[i].second);
    h.close("section");
  }
  return foot(h, f);
}

Html chart(const Series& s) {
  constexpr double k_w = 300;
  constexpr double k_h = 60;
  Html h;
  h.open("figure", {{"class", "chart"}});
  const double top = s.points.empty() ? 0 : *std::max_element(s.points.begin(), s.points.end());
  const double scale = top > 0 ? top : 1;
  std::string points;
  const std::size_t n = s.points.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = n > 1 ? k_w * static_cast<double>(i) / static_cast<double>(n - 1) : 0;
    double y = s.points[i];
    if (!std::isfinite(y) || y < 0) y = 0;
    points += fmt::format("{:.1f},{:.1f} ", x, k_h - 2 - (k_h - 4) * y / scale);
  }
  h.open("svg", {{"viewbox", fmt::format("0 0 {} {}", k_w, k_h)},
                 {"role", "img"},
                 {"aria-label", s.title},
                 {"preserveaspectratio", "none"}});
  h.empty("rect", {{"x", "0"}, {"y", "0"}, {"width", "300"}, {"height", "60"}, {"class", "bg"}});
  if (n > 1) h.open("polyline", {{"points", points}, {"class", "line"}}).close("polyline");
  h.close("svg");
  h.element("figcaption", s.title + ": " + fmt::format("{:.3g}", n == 0 ? 0.0 : s.points.back()) +
                              " " + s.unit + " (max " + fmt::format("{:.3g}", top) + ")");
  h.close("figure");
  return h;
}

std::string status_page(const Frame& f, const StatusView& v) {
  Html h;
  head(h, f, "Status");
  h.element("h1", "Status");
  h.open("dl", {{"class", "facts"}});
  dl_row(h, "cache hit ratio", v.hit_ratio < 0 ? "-" : fmt::format("{:.1f} %", 100 * v.hit_ratio));
  dl_row(h, "fetches in flight", std::to_string(v.in_flight));
  dl_row(h, "fetches queued", std::to_string(v.queued));
  dl_row(
      h, "store free space",
      v.free_bytes < 0 ? "-" : format_bytes(v.free_bytes) + " of " + format_bytes(v.total_bytes));
  dl_row(h, "lock service", v.lock);
  dl_row(h, "checksum database", v.sumdb.empty() ? "off" : v.sumdb);
  h.close("dl");
  if (!v.charts.empty()) {
    h.element("h2", "Recent minutes");
    h.open("div", {{"class", "charts"}});
    for (const auto& c : v.charts) h.append(chart(c));
    h.close("div");
  }
  h.element("h2", "Requests by endpoint");
  h.open("table").open("thead").open("tr");
  h.element("th", "endpoint").element("th", "requests").element("th", "bytes");
  h.close("tr").close("thead").open("tbody");
  for (const auto& [name, rb] : v.endpoints) {
    h.open("tr").element("td", name).element("td", std::to_string(rb.first));
    h.element("td", format_bytes(static_cast<std::int64_t>(rb.second))).close("tr");
  }
  h.close("tbody").close("table");
  h.element("h2", "Upstream fetches");
  h.open("table").open("thead").open("tr");
  h.element("th", "kind, result").element("th", "count");
  h.close("tr").close("thead").open("tbody");
  for (const auto& [name, n] : v.fetches) {
    h.open("tr").element("td", name).element("td", std::to_string(n)).close("tr");
  }
  h.close("tbody").close("table");
  if (!v.latency.empty()) {
    h.open("table").open("thead").open("tr");
    h.element("th", "kind").element("th", "mean fetch time");
    h.close("tr").close("thead").open("tbody");
    for (const auto& [kind, secs] : v.latency) {
      h.open("tr").element("td", kind).element("td", fmt::format("{:.0f} ms", secs * 1000));
      h.close("tr");
    }
    h.close("tbody").close("table");
  }
  h.element("h2", "Last errors");
  if (!v.errors_shown) {
    h.element("p", "Shown to authenticated clients only (they may name private modules).");
  } else if (v.last_errors.empty()) {
    h.element("p", "None since start.");
  } else {
    h.open("ul", {{"class", "errors"}});
    for (const auto& e : v.last_errors) h.element("li", e);
    h.close("ul");
  }
  return foot(h, f);
}

std::string not_found_page(const Frame& f, std::string_view what) {
  Html h;
  head(h, f, "Not found");
  h.element("h1", "Not found");
  h.open("p").text("This proxy has nothing stored for ").element("code", what).text(".");
  h.close("p");
  return foot(h, f);
}

}  // namespace stoa::web
