#include "stoa/vulndb/snapshot.hpp"

#include <openssl/sha.h>

#include <array>
#include <set>
#include <utility>

#include "stoa/text/ascii.hpp"
#include "stoa/vulndb/gzip.hpp"

namespace stoa::vulndb {

namespace {

std::string etag_of(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md.data());
  return "\"" + text::to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), 16)) + "\"";
}

std::string format_time(module::Instant t) {
  // Seconds are enough to tell an operator which of two times is later.
  return std::to_string(t.seconds) + "s since the epoch";
}

}  // namespace

struct SnapshotBuilder {
  static Built build(Documents docs, const Snapshot* previous, const Limits& limits);
};

const Snapshot::File* Snapshot::find(std::string_view name) const {
  auto it = m_files.find(name);
  return it == m_files.end() ? nullptr : &it->second;
}

Documents Snapshot::documents() const {
  Documents out;
  for (const auto& [name, f] : m_files) out.emplace(name, f.json);
  return out;
}

Built build_snapshot(Documents docs, const Snapshot* previous, const Limits& limits) {
  return SnapshotBuilder::build(std::move(docs), previous, limits);
}

Built SnapshotBuilder::build(Documents docs, const Snapshot* previous, const Limits& limits) {
  auto refuse = [](std::string why) { return Built{nullptr, std::move(why)}; };
  std::string error;
  for (const char* name : {"index/db", "index/modules", "index/vulns"}) {
    auto it = docs.find(name);
    if (it == docs.end()) return refuse(std::string("no ") + name + ".json");
    if (it->second.size() > limits.max_index) {
      return refuse(std::string(name) + ".json is over " + std::to_string(limits.max_index) +
                    " bytes");
    }
  }
  auto snap = std::make_shared<Snapshot>();
  // The entries.
  std::map<std::string, const Entry*, std::less<>> by_id;
  std::size_t total = 0;
  for (const auto& [name, body] : docs) {
    total += body.size();
    if (total > limits.max_total) {
      return refuse("the database is over " + std::to_string(limits.max_total) + " bytes");
    }
    if (name.starts_with("index/")) {
      if (name != "index/db" && name != "index/modules" && name != "index/vulns") {
        return refuse("unknown index " + name + ".json");
      }
      continue;
    }
    if (!name.starts_with("ID/") || !is_valid_id(std::string_view(name).substr(3))) {
      return refuse("unexpected document \"" + name + "\" (only index/ and ID/<id>)");
    }
    if (snap->m_entries.size() >= limits.max_entries) {
      return refuse("more than " + std::to_string(limits.max_entries) + " entries");
    }
    if (body.size() > limits.max_entry) {
      return refuse(name + ".json is over " + std::to_string(limits.max_entry) + " bytes");
    }
    auto e = parse_entry(body, error);
    if (!e) return refuse(name + ".json: " + error);
    if ("ID/" + e->id != name) return refuse(name + ".json holds the entry " + e->id);
    snap->m_entries.push_back(std::move(*e));
  }
  for (const Entry& e : snap->m_entries) by_id.emplace(e.id, &e);

  // index/db.json: the database's time, no earlier than any entry's.
  auto db = parse_db_meta(docs.find("index/db")->second, error);
  if (!db) return refuse(error);
  snap->m_modified = *db;
  for (const Entry& e : snap->m_entries) {
    if (e.modified > *db) {
      return refuse("entry " + e.id + " is modified after index/db.json's time (" +
                    format_time(e.modified) + " > " + format_time(*db) + ")");
    }
  }

  // index/vulns.json: exactly the entries, with their times.
  auto vulns = parse_vulns_index(docs.find("index/vulns")->second, error);
  if (!vulns) return refuse(error);
  std::set<std::string, std::less<>> listed;
  for (const VulnMeta& v : *vulns) {
    auto it = by_id.find(v.id);
    if (it == by_id.end())
      return refuse("index/vulns.json lists " + v.id + ", which is not in ID/");
    if (it->second->modified != v.modified) {
      return refuse("index/vulns.json gives " + v.id + " another modified time than its entry");
    }
    if (!listed.insert(v.id).second) return refuse("index/vulns.json lists " + v.id + " twice");
  }
  if (listed.size() != by_id.size()) {
    for (const auto& [id, e] : by_id) {
      if (!listed.contains(id)) return refuse("index/vulns.json does not list " + id);
    }
  }

  // index/modules.json: each module's entries exist, affect it, and carry their times.
  auto modules = parse_modules_index(docs.find("index/modules")->second, error);
  if (!modules) return refuse(error);
  std::set<std::string, std::less<>> paths;
  for (const ModuleMeta& m : *modules) {
    if (!paths.insert(m.path).second) {
      return refuse("index/modules.json lists the module " + m.path + " twice");
    }
    for (const ModuleVuln& v : m.vulns) {
      auto it = by_id.find(v.id);
      if (it == by_id.end()) {
        return refuse("index/modules.json names " + v.id + " for " + m.path +
                      ", which is not in ID/");
      }
      const Entry& e = *it->second;
      if (e.modified != v.modified) {
        return refuse("index/modules.json gives " + v.id + " another modified time than its entry");
      }
      bool affects = false;
      for (const Affected& a : e.affected) affects = affects || a.name == m.path;
      if (!affects) {
        return refuse("index/modules.json names " + v.id + " for " + m.path +
                      ", which the entry does not affect");
      }
    }
  }

  // Against the snapshot in force: no rollback.
  if (previous != nullptr) {
    if (*db < previous->m_modified) {
      return refuse("the database is older than the one served (index/db.json: " +
                    format_time(*db) + " < " + format_time(previous->m_modified) + ")");
    }
    for (const Entry& old : previous->m_entries) {
      auto it = by_id.find(old.id);
      if (it != by_id.end() && it->second->modified < old.modified) {
        return refuse("entry " + old.id + " is older than the one served");
      }
    }
  }

  for (auto& [name, body] : docs) {
    Snapshot::File f;
    f.gz = gzip(body);
    f.etag_json = etag_of(body);
    f.etag_gz = etag_of(f.gz);
    f.json = std::move(body);
    snap->m_files.emplace(name, std::move(f));
  }
  return Built{std::move(snap), ""};
}

}  // namespace stoa::vulndb
