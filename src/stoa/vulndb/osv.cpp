#include "stoa/vulndb/osv.hpp"

#include <boost/json.hpp>

#include <initializer_list>
#include <utility>

#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::vulndb {
namespace {

namespace json = boost::json;

// Why a document is refused; caught at the edge of each parser, never escapes.
struct Bad {
  std::string why;
};

// A key as encoding/json compares it with a field name: ASCII letters lower-cased, and the two
// non-ASCII runes whose simple fold orbit holds an ASCII letter ("ſ" U+017F: s, "K" U+212A: k)
// replaced by it. Other non-ASCII bytes stay (they fold to no ASCII name).
std::string fold_key(std::string_view k) {
  std::string out;
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (k.substr(i, 2) == "\xC5\xBF") {
      out += 's';
      ++i;
    } else if (k.substr(i, 3) == "\xE2\x84\xAA") {
      out += 'k';
      i += 2;
    } else {
      out += text::to_lower(k[i]);
    }
  }
  return out;
}

json::value parse_json(std::string_view s) {
  json::parse_options opts;
  opts.max_depth = k_max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(s, ec, json::storage_ptr(), opts);
  if (ec) throw Bad{"not valid JSON (" + ec.message() + ")"};
  return v;
}

const json::object& as_object(const json::value& v, std::string_view where) {
  if (!v.is_object()) throw Bad{std::string(where) + " is not a JSON object"};
  return v.get_object();
}

const json::array& as_array(const json::value& v, std::string_view where) {
  if (!v.is_array()) throw Bad{std::string(where) + " is not a JSON array"};
  return v.get_array();
}

// Refuses a key that govulncheck would read as one of `names` although it is spelled otherwise.
void check_keys(const json::object& o, std::initializer_list<std::string_view> names,
                std::string_view where) {
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const std::string folded = fold_key(key);
    for (const std::string_view n : names) {
      if (folded == n && key != n) {
        throw Bad{"key \"" + std::string(key) + "\" of " + std::string(where) + " stands for \"" +
                  std::string(n) + "\" in Go's reading: refused"};
      }
    }
  }
}

// A member that is present and not null.
const json::value* member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::optional<std::string> opt_string(const json::object& o, std::string_view name,
                                      std::string_view where) {
  const json::value* v = member(o, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    throw Bad{"\"" + std::string(name) + "\" of " + std::string(where) + " is not a string"};
  }
  return std::string(v->get_string());
}

std::string need_string(const json::object& o, std::string_view name, std::string_view where) {
  auto s = opt_string(o, name, where);
  if (!s) throw Bad{std::string(where) + " has no \"" + std::string(name) + "\""};
  return std::move(*s);
}

module::Instant need_time(const json::object& o, std::string_view name, std::string_view where) {
  const std::string s = need_string(o, name, where);
  auto t = module::parse_rfc3339(s);
  if (!t) {
    throw Bad{"\"" + std::string(name) + "\" of " + std::string(where) +
              " is not an RFC 3339 time"};
  }
  return *t;
}

std::string need_id(const json::object& o, std::string_view where) {
  std::string id = need_string(o, "id", where);
  if (!is_valid_id(id)) throw Bad{std::string(where) + " has an invalid id"};
  return id;
}

bool is_osv_semver(std::string_view v) { return module::semver::is_valid("v" + std::string(v)); }

Event parse_event(const json::value& v, const std::string& type, const std::string& where) {
  const json::object& o = as_object(v, where);
  static constexpr std::pair<std::string_view, Event::Kind> k_kinds[] = {
      {"introduced", Event::Kind::introduced},
      {"fixed", Event::Kind::fixed},
      {"last_affected", Event::Kind::last_affected},
      {"limit", Event::Kind::limit}};
  check_keys(o, {"introduced", "fixed", "last_affected", "limit"}, where);
  std::optional<Event> out;
  for (const auto& [name, kind] : k_kinds) {
    auto s = opt_string(o, name, where);
    if (!s) continue;
    if (out) throw Bad{where + " has more than one of introduced, fixed, last_affected, limit"};
    out = Event{kind, std::move(*s)};
  }
  if (!out) throw Bad{where + " has none of introduced, fixed, last_affected, limit"};
  if (type == "SEMVER" && !(out->kind == Event::Kind::introduced && out->version == "0") &&
      !is_osv_semver(out->version)) {
    throw Bad{where + " has a version that is not a semantic version"};
  }
  return *out;
}

Range parse_range(const json::value& v, const std::string& where) {
  const json::object& o = as_object(v, where);
  check_keys(o, {"type", "events"}, where);
  Range r;
  r.type = need_string(o, "type", where);
  const json::value* events = member(o, "events");
  if (events == nullptr) throw Bad{where + " has no events"};
  const json::array& a = as_array(*events, where + ".events");
  if (a.empty()) throw Bad{where + " has no events"};
  for (std::size_t i = 0; i < a.size(); ++i) {
    r.events.push_back(parse_event(a[i], r.type, where + ".events[" + std::to_string(i) + "]"));
  }
  return r;
}

Affected parse_affected(const json::value& v, const std::string& where) {
  const json::object& o = as_object(v, where);
  check_keys(o, {"package", "ranges", "ecosystem_specific", "database_specific"}, where);
  Affected a;
  const json::value* pkg = member(o, "package");
  if (pkg == nullptr) throw Bad{where + " has no package"};
  const json::object& p = as_object(*pkg, where + ".package");
  check_keys(p, {"name", "ecosystem", "purl"}, where + ".package");
  a.name = need_string(p, "name", where + ".package");
  a.ecosystem = need_string(p, "ecosystem", where + ".package");
  if (a.name.empty()) throw Bad{where + ".package has an empty name"};
  if (const json::value* ranges = member(o, "ranges")) {
    const json::array& r = as_array(*ranges, where + ".ranges");
    for (std::size_t i = 0; i < r.size(); ++i) {
      a.ranges.push_back(parse_range(r[i], where + ".ranges[" + std::to_string(i) + "]"));
    }
  }
  return a;
}

std::vector<std::string> string_array(const json::object& o, std::string_view name,
                                      const std::string& where) {
  std::vector<std::string> out;
  const json::value* v = member(o, name);
  if (v == nullptr) return out;
  const std::string w = where + "." + std::string(name);
  for (const json::value& e : as_array(*v, w)) {
    if (!e.is_string()) throw Bad{w + " holds a value that is not a string"};
    out.emplace_back(e.get_string());
  }
  return out;
}

template <typename F>
auto guarded(std::string& error, F&& f) -> std::optional<decltype(f())> {
  try {
    return f();
  } catch (const Bad& b) {
    error = b.why;
    return std::nullopt;
  }
}

}  // namespace

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > k_max_id_length || !text::is_alnum(id.front())) return false;
  for (const char c : id) {
    if (!text::is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::optional<Entry> parse_entry(std::string_view json_text, std::string& error) {
  return guarded(error, [&] {
    const json::value v = parse_json(json_text);
    const json::object& o = as_object(v, "the entry");
    check_keys(
        o,
        {"id", "modified", "published", "withdrawn", "aliases", "related", "affected",
         "schema_version", "summary", "details", "references", "credits", "database_specific"},
        "the entry");
    Entry e;
    e.id = need_id(o, "the entry");
    const std::string where = "entry " + e.id;
    e.modified = need_time(o, "modified", where);
    e.aliases = string_array(o, "aliases", where);
    (void)string_array(o, "related", where);
    if (const json::value* affected = member(o, "affected")) {
      const json::array& a = as_array(*affected, where + ".affected");
      for (std::size_t i = 0; i < a.size(); ++i) {
        e.affected.push_back(parse_affected(a[i], where + ".affected[" + std::to_string(i) + "]"));
      }
    }
    // govulncheck (v1.9.0) prints database_specific.url of every finding and crashes on an entry
    // without one: such a database is refused here rather than served to it.
    const json::value* specific = member(o, "database_specific");
    if (specific == nullptr) throw Bad{where + " has no database_specific.url"};
    if (need_string(as_object(*specific, where + ".database_specific"), "url",
                    where + ".database_specific")
            .empty()) {
      throw Bad{where + " has an empty database_specific.url"};
    }
    if (member(o, "published") != nullptr) (void)need_time(o, "published", where);
    if (member(o, "withdrawn") != nullptr) (void)need_time(o, "withdrawn", where);
    return e;
  });
}

std::optional<module::Instant> parse_db_meta(std::string_view json_text, std::string& error) {
  return guarded(error, [&] {
    const json::value v = parse_json(json_text);
    const json::object& o = as_object(v, "index/db.json");
    check_keys(o, {"modified"}, "index/db.json");
    return need_time(o, "modified", "index/db.json");
  });
}

std::optional<std::vector<ModuleMeta>> parse_modules_index(std::string_view json_text,
                                                           std::string& error) {
  return guarded(error, [&] {
    const json::value v = parse_json(json_text);
    std::vector<ModuleMeta> out;
    const json::array& a = as_array(v, "index/modules.json");
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string where = "index/modules.json[" + std::to_string(i) + "]";
      const json::object& o = as_object(a[i], where);
      check_keys(o, {"path", "vulns"}, where);
      ModuleMeta m;
      m.path = need_string(o, "path", where);
      if (m.path.empty()) throw Bad{where + " has an empty path"};
      if (const json::value* vulns = member(o, "vulns")) {
        const json::array& va = as_array(*vulns, where + ".vulns");
        for (std::size_t j = 0; j < va.size(); ++j) {
          const std::string w = where + ".vulns[" + std::to_string(j) + "]";
          const json::object& vo = as_object(va[j], w);
          check_keys(vo, {"id", "modified", "fixed"}, w);
          ModuleVuln mv;
          mv.id = need_id(vo, w);
          mv.modified = need_time(vo, "modified", w);
          mv.fixed = opt_string(vo, "fixed", w).value_or("");
          if (!mv.fixed.empty() && !is_osv_semver(mv.fixed)) {
            throw Bad{w + " has a fixed version that is not a semantic version"};
          }
          m.vulns.push_back(std::move(mv));
        }
      }
      out.push_back(std::move(m));
    }
    return out;
  });
}

std::optional<std::vector<VulnMeta>> parse_vulns_index(std::string_view json_text,
                                                       std::string& error) {
  return guarded(error, [&] {
    const json::value v = parse_json(json_text);
    std::vector<VulnMeta> out;
    const json::array& a = as_array(v, "index/vulns.json");
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string where = "index/vulns.json[" + std::to_string(i) + "]";
      const json::object& o = as_object(a[i], where);
      check_keys(o, {"id", "modified", "aliases"}, where);
      VulnMeta m;
      m.id = need_id(o, where);
      m.modified = need_time(o, "modified", where);
      (void)string_array(o, "aliases", where);
      out.push_back(std::move(m));
    }
    return out;
  });
}

}  // namespace stoa::vulndb
