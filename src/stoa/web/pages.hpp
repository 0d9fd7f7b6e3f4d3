#pragma once
// The pages, as pure functions from what they show to a whole HTML document (html.hpp: every
// value escaped). No I/O here: site.hpp gathers the data (catalog, store, policy, metrics) and
// calls these. Pure; thread-safe.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stoa/html/html.hpp"
#include "stoa/index/index.hpp"
#include "stoa/web/catalog.hpp"

namespace stoa::web {

using html::Html;
using html::Url;

// What every page needs: where the site lives.
struct Frame {
  Url base;             // the UI's root (path prefix + ui_path), e.g. "/" or "/goproxy/ui"
  Url root;             // the proxy's root (path prefix), for /vulndb/ links
  std::string version;  // stoa's version, in the footer
};

struct Totals {
  std::size_t modules = 0;
  std::size_t versions = 0;
  std::int64_t bytes = 0;
  bool indexed = true;  // false: no index configured (nothing to search)
};

struct UpstreamState {
  std::string name;  // redacted
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
};

struct HomeView {
  std::string goproxy;  // the value a client sets GOPROXY to
  Totals totals;
  std::vector<index::Entry> recent;
  std::vector<UpstreamState> upstreams;
};

struct SearchView {
  std::string query;
  std::size_t page = 0;
  std::vector<ModuleSummary> modules;
  std::size_t total = 0;
  bool more = false;
  bool indexed = true;
};

struct VersionRow {
  index::Entry entry;  // version, hashes, size, origin, stored_ns (when recorded)
  std::string time;    // from the .info, RFC 3339 ("" when unknown)
  // Why it is marked: ("retracted", rationale), ("denied", reason), ("cooldown", ...),
  // ("vulnerable", ids) - the kind is a fixed word, the text is attacker-controlled.
  std::vector<std::pair<std::string, std::string>> marks;
};

struct ZipFile {
  std::string name;
  std::uint64_t size = 0;
};

struct Vulnerability {
  std::string id;
  std::vector<std::string> aliases;
  std::string affects;  // "before v1.2.3", "all versions", ...
};

struct ModuleView {
  std::string path;
  std::vector<VersionRow> versions;  // newest first
  std::size_t selected = 0;          // index into versions
  std::string gomod;                 // the selected version's go.mod ("" when not stored)
  bool gomod_truncated = false;
  std::vector<ZipFile> files;  // the selected version's zip, in zip order
  bool files_truncated = false;
  std::string files_note;  // why there is no list ("" when there is one)
  bool vulndb = false;     // a vulnerability database is mirrored
  std::vector<Vulnerability> vulns;
};

struct SetupView {
  std::string goproxy;        // the proxy URL (external URL + path prefix)
  std::string private_globs;  // GONOSUMDB/GOPRIVATE patterns ("" when none)
  bool auth = false;          // clients need credentials
  std::string host;           // the host of `goproxy`, for netrc
  std::string sumdb;          // "name" when /sumdb/<name>/ is proxied ("" when not)
  bool vulndb = false;
};

struct Series {
  std::string title;
  std::string unit;
  std::vector<double> points;  // oldest first
};

struct StatusView {
  double hit_ratio = -1;  // -1 when nothing was answered yet
  std::vector<std::pair<std::string, std::pair<std::uint64_t, std::uint64_t>>>
      endpoints;                                               // name -> (requests, bytes)
  std::vector<std::pair<std::string, std::uint64_t>> fetches;  // "kind result" -> count
  std::vector<std::pair<std::string, double>> latency;         // kind -> mean seconds
  std::int64_t in_flight = 0;
  std::int64_t queued = 0;
  std::int64_t free_bytes = -1;  // -1 when unknown
  std::int64_t total_bytes = -1;
  std::string lock;   // "redis", "postgres", "none"
  std::string sumdb;  // checksum database name, "" when off
  std::vector<Series> charts;
  std::vector<std::string> last_errors;  // shown only when `errors_shown`
  bool errors_shown = false;
};

std::string home_page(const Frame& f, const HomeView& v);
std::string search_page(const Frame& f, const SearchView& v);
std::string module_page(const Frame& f, const ModuleView& v);
std::string setup_page(const Frame& f, const SetupView& v);
std::string status_page(const Frame& f, const StatusView& v);
// What any module that does not exist, or that the client may not see, looks like.
std::string not_found_page(const Frame& f, std::string_view what);

// The setup snippets, one per client kind, as (title, text) pairs; pure text (escaped by the
// page). Exposed for tests.
std::vector<std::pair<std::string, std::string>> setup_snippets(const SetupView& v);

// An inline SVG line chart of `s` (escaped labels; numbers only in coordinates).
Html chart(const Series& s);

// "1.5 MiB"; "-" for a negative size.
std::string format_bytes(std::int64_t n);

}  // namespace stoa::web
