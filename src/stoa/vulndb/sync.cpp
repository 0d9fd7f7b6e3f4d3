#include "stoa/vulndb/sync.hpp"

#include <algorithm>
#include <stdexcept>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/vulndb/gzip.hpp"

namespace stoa::vulndb {
namespace {

// Why a sync stops; caught in sync_once().
struct SyncFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Got {
  long status = 0;
  std::string body;  // decompressed
  std::string etag;
};

// GET <url> (a .json.gz), at most `limit` bytes on the wire and decompressed. A 304 is returned
// as such (with `if_none_match` set); any other status but 200 fails.
Got fetch(CURL* h, const std::string& url, std::size_t limit, const std::string& if_none_match,
          const SyncOptions& o) {
  curl::set(h, CURLOPT_URL, url.c_str());
  curl::set(h, CURLOPT_HTTPGET, 1L);
  curl::Slist headers;
  if (!if_none_match.empty()) curl::append(headers, "If-None-Match: " + if_none_match);
  curl::set(h, CURLOPT_HTTPHEADER, headers.get());
  std::string raw;
  curl::StringSink sink(raw);
  curl::Options opts;
  opts.limits = {o.connect_timeout, o.transfer_timeout, o.transfer_timeout};
  opts.max_body = limit;
  const curl::Result r = curl::perform(h, sink, opts);
  curl::set(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  Got g;
  g.status = r.response.status;
  if (r.answered() && g.status == 304 && !if_none_match.empty()) return g;
  if (!r.ok()) throw SyncFailed(url + ": " + r.error);
  if (g.status != 200) throw SyncFailed(url + ": status " + std::to_string(g.status));
  std::string error;
  auto body = gunzip(raw, limit, error);
  if (!body) throw SyncFailed(url + ": " + error);
  g.body = std::move(*body);
  if (const std::string* e = r.response.header("etag")) g.etag = *e;
  return g;
}

}  // namespace

Syncer::Outcome Syncer::sync_once() {
  try {
    return run();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return {Outcome::Kind::failed, e.what()};
  }
}

Syncer::Outcome Syncer::run() {
  const Limits& limits = m_mirror.limits();
  const auto current = m_mirror.current();
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  const std::string& base = m_options.source;

  Got db = fetch(h.get(), base + "/index/db.json.gz", limits.max_index,
                 current != nullptr ? m_etag : "", m_options);
  if (db.status == 304) return {Outcome::Kind::unchanged, "index/db.json not modified"};
  std::string error;
  const auto modified = parse_db_meta(db.body, error);
  if (!modified) throw SyncFailed("index/db.json: " + error);
  if (current != nullptr && *modified == current->modified()) {
    m_etag = db.etag;
    return {Outcome::Kind::unchanged, "index/db.json has the time of the database served"};
  }

  Documents docs;
  docs.emplace("index/db", std::move(db.body));
  for (const char* index : {"index/modules", "index/vulns"}) {
    Got g = fetch(h.get(), base + "/" + index + ".json.gz", limits.max_index, "", m_options);
    docs.emplace(index, std::move(g.body));
  }
  const auto vulns = parse_vulns_index(docs.at("index/vulns"), error);
  if (!vulns) throw SyncFailed(error);
  if (vulns->size() > limits.max_entries) {
    throw SyncFailed("index/vulns.json lists more than " + std::to_string(limits.max_entries) +
                     " entries");
  }
  std::size_t fetched = 0;
  for (const VulnMeta& v : *vulns) {
    // v.id is a valid id (parse_vulns_index): no path characters reach the URL.
    const std::string name = "ID/" + v.id;
    if (current != nullptr) {
      const Snapshot::File* f = current->find(name);
      const auto& entries = current->entries();
      auto it = std::lower_bound(entries.begin(), entries.end(), v.id,
                                 [](const Entry& e, const std::string& id) { return e.id < id; });
      if (f != nullptr && it != entries.end() && it->id == v.id && it->modified == v.modified) {
        docs.emplace(name, f->json);
        continue;
      }
    }
    Got g = fetch(h.get(), base + "/" + name + ".json.gz", limits.max_entry, "", m_options);
    docs.emplace(name, std::move(g.body));
    ++fetched;
  }
  const auto installed = m_mirror.repository().install(std::move(docs), limits, error);
  if (installed == nullptr) throw SyncFailed("refused: " + error);
  m_mirror.refresh();
  m_etag = db.etag;
  return {Outcome::Kind::updated, std::to_string(installed->entries().size()) + " entries, " +
                                      std::to_string(fetched) + " fetched"};
}

}  // namespace stoa::vulndb
