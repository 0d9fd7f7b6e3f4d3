#include "stoa/proxy/validate.hpp"

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/proxy/gomod.hpp"
#include "stoa/proxy/info_json.hpp"
#include "stoa/proxy/listing.hpp"

namespace stoa::proxy {

std::optional<std::string> info_problem(std::string_view body, std::string_view version) {
  std::string why;
  const auto info = decode_rev_info(body, &why);
  if (!info) return "malformed .info: " + why;
  if (info->version != version) {
    return "\"" + module::excerpt(info->version, 128) + "\" is not version " + std::string(version);
  }
  return std::nullopt;
}

std::optional<std::string> go_mod_problem(std::string_view body) {
  std::string why;
  const auto head = parse_go_mod_lax(body, &why);
  if (!head) return "malformed .mod: " + why;
  if (head->module_path.empty()) return "malformed .mod: missing module line";
  return std::nullopt;
}

std::optional<std::string> resolved_info_problem(std::string_view body, std::string_view module) {
  const auto info = parse_info(body);
  if (!info || !module::semver::is_canonical(info->version)) {
    return "malformed answer (no canonical Version)";
  }
  if (auto pm = module::split_path_version(module);
      !pm || module::check_path_major(info->version, pm->major)) {
    return "version " + info->version.substr(0, 128) + " does not match module path";
  }
  return std::nullopt;
}

}  // namespace stoa::proxy
