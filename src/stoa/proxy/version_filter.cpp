#include "stoa/proxy/version_filter.hpp"

namespace stoa::proxy {

std::string filter_list(const VersionFilter& filter, std::string_view module,
                        std::string_view list_body, std::vector<HiddenVersion>* hidden,
                        const VersionFilter::Asked& asked) {
  std::string out;
  out.reserve(list_body.size());
  while (!list_body.empty()) {
    const auto nl = list_body.find('\n');
    const std::string_view line = list_body.substr(0, nl);
    list_body = nl == std::string_view::npos ? "" : list_body.substr(nl + 1);
    const auto space = line.find(' ');
    const std::string_view version = line.substr(0, space);
    const std::string_view time = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (!version.empty()) {
      auto verdict = filter.check(module, version, time, asked);
      if (verdict.hidden) {
        if (hidden != nullptr) hidden->push_back({std::string(version), std::move(verdict)});
        continue;
      }
    }
    out.append(line);
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

std::string refusal(std::string_view module, std::string_view version,
                    const VersionFilter::Verdict& verdict) {
  const std::string subject = std::string(module) + "@" + std::string(version);
  if (verdict.cause == "cooldown") return subject + " is " + verdict.reason;
  return "forbidden: " + subject + " is filtered: " + verdict.reason;
}

std::string describe_hidden(const std::vector<HiddenVersion>& hidden) {
  std::string out;
  for (const auto& h : hidden) {
    if (!out.empty()) out += ", ";
    out += h.version + " (rule \"" + h.verdict.rule + "\")";
  }
  return out;
}

}  // namespace stoa::proxy
