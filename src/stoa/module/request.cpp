#include "stoa/module/request.hpp"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::module {
namespace {

constexpr std::size_t k_max_target_bytes = 4096;
constexpr std::size_t k_max_query_bytes = 128;

BadRequest bad_request(const std::string& why) { return BadRequest{400, "bad request: " + why}; }
BadRequest not_found(const std::string& why) { return BadRequest{404, "not found: " + why}; }

std::string quoted(std::string_view s) { return "\"" + excerpt(s) + "\""; }

using text::hex_value;

// Bytes that are never part of a module path or version, raw or percent-encoded.
bool forbidden_byte(unsigned char b) { return b < 0x20 || b >= 0x7f || b == '\\'; }

// Percent-decodes `target` once. A malformed escape, an encoded '/' or '\', and any control,
// DEL or non-ASCII byte (raw or decoded) make it a bad request. '+' stays '+'.
std::variant<std::string, BadRequest> percent_decode(std::string_view target) {
  std::string out;
  out.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    auto b = static_cast<unsigned char>(target[i]);
    if (b == '%') {
      int hi = i + 2 < target.size() ? hex_value(target[i + 1]) : -1;
      int lo = hi >= 0 ? hex_value(target[i + 2]) : -1;
      if (hi < 0 || lo < 0) return bad_request("malformed percent-escape in " + quoted(target));
      b = static_cast<unsigned char>(hi * 16 + lo);
      if (b == '/' || b == '\\') {
        return bad_request("encoded slash or backslash in " + quoted(target));
      }
      i += 2;
    }
    if (forbidden_byte(b)) {
      return bad_request("control, non-ASCII or backslash byte in " + quoted(target));
    }
    out += static_cast<char>(b);
  }
  return out;
}

// A version that is not canonical semver may still be a query (branch, tag, commit prefix).
bool is_query(std::string_view v) {
  if (v.empty() || v.size() > k_max_query_bytes || v.front() == '-' || v.front() == '.') {
    return false;
  }
  if (v.find("..") != std::string_view::npos) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '+' || c == '~' || c == '-';
  });
}

struct Endpoint {
  Kind kind;
  std::string_view escaped_module;
  std::string_view escaped_version;  // for info, mod and zip
};

// Recognizes "<m>/@v/list", "<m>/@v/<v>.info|.mod|.zip" and "<m>/@latest" in a decoded path
// (without its leading '/') whose segments have already been checked.
std::optional<Endpoint> match_endpoint(std::string_view path) {
  constexpr std::string_view k_latest = "/@latest";
  if (path.ends_with(k_latest)) {
    return Endpoint{Kind::latest, path.substr(0, path.size() - k_latest.size()), {}};
  }
  std::size_t last_slash = path.rfind('/');
  if (last_slash == std::string_view::npos) return std::nullopt;
  std::string_view head = path.substr(0, last_slash);
  std::string_view file = path.substr(last_slash + 1);
  constexpr std::string_view k_at_v = "/@v";
  if (!head.ends_with(k_at_v)) return std::nullopt;
  std::string_view module = head.substr(0, head.size() - k_at_v.size());

  if (file == "list") return Endpoint{Kind::list, module, {}};
  struct Suffix {
    std::string_view text;
    Kind kind;
  };
  for (Suffix s :
       {Suffix{".info", Kind::info}, Suffix{".mod", Kind::mod}, Suffix{".zip", Kind::zip}}) {
    if (file.ends_with(s.text)) {
      return Endpoint{s.kind, module, file.substr(0, file.size() - s.text.size())};
    }
  }
  return std::nullopt;
}

std::string module_reason(std::string_view escaped) {
  auto decoded = decode_case(escaped);
  if (!decoded) return "invalid case-encoding";
  return check_path(*decoded).value_or("invalid path");
}

}  // namespace

std::variant<Request, BadRequest> parse_request(std::string_view target) {
  if (target.size() > k_max_target_bytes) {
    return bad_request("request path longer than " + std::to_string(k_max_target_bytes) + " bytes");
  }
  if (target.find('?') != std::string_view::npos) {
    return bad_request("query strings are not supported: " + quoted(target));
  }
  if (target.empty() || target.front() != '/') {
    return bad_request("request path must start with '/': " + quoted(target));
  }
  if (target == "/") return not_found("unknown endpoint \"/\"");

  auto decoded_or = percent_decode(target);
  if (auto* bad = std::get_if<BadRequest>(&decoded_or)) return std::move(*bad);
  std::string_view path = std::get<std::string>(decoded_or);
  path.remove_prefix(1);

  for (std::string_view rest = path;;) {
    std::size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") {
      return bad_request("empty, '.' or '..' segment in " + quoted(target));
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }

  auto endpoint = match_endpoint(path);
  if (!endpoint) return not_found("unknown endpoint " + quoted(target));

  Request r;
  r.kind = endpoint->kind;
  auto module = unescape_path(endpoint->escaped_module);
  if (!module) {
    return bad_request("invalid escaped module path " + quoted(endpoint->escaped_module) + ": " +
                       module_reason(endpoint->escaped_module));
  }
  r.module = std::move(*module);
  r.escaped_module = std::string(endpoint->escaped_module);
  if (r.kind == Kind::list || r.kind == Kind::latest) return r;

  std::string_view escaped_version = endpoint->escaped_version;
  if (escaped_version.starts_with('-') || escaped_version.starts_with('/')) {
    return bad_request("version must not start with '-' or '/': " + quoted(escaped_version));
  }
  auto version = unescape_version(escaped_version);
  if (!version) return bad_request("invalid escaped version " + quoted(escaped_version));
  r.version = std::move(*version);
  r.escaped_version = std::string(escaped_version);
  r.canonical = semver::is_canonical(r.version);

  if (!r.canonical) {
    if (r.kind != Kind::info) {
      return bad_request("version " + quoted(r.version) +
                         " is not canonical semver, as .mod and .zip requests need");
    }
    if (!is_query(r.version)) return bad_request("invalid version query " + quoted(r.version));
    return r;
  }

  // check_path succeeded, so the path's major suffix is well-formed.
  auto split = split_path_version(r.module);
  if (auto reason = check_path_major(r.version, split ? split->major : std::string())) {
    return not_found(excerpt(r.module + "@" + r.version) + ": invalid version: " + *reason);
  }
  return r;
}

std::string key_of(const Request& r) {
  switch (r.kind) {
    case Kind::list:
      return r.escaped_module + "/@v/list";
    case Kind::latest:
      return r.escaped_module + "/@latest";
    case Kind::info:
      return r.escaped_module + "/@v/" + r.escaped_version + ".info";
    case Kind::mod:
      return r.escaped_module + "/@v/" + r.escaped_version + ".mod";
    case Kind::zip:
      return r.escaped_module + "/@v/" + r.escaped_version + ".zip";
  }
  return {};
}

}  // namespace stoa::module
