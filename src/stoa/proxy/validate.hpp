#pragma once
// What stoa checks in a .info or .mod body from upstream before storing it: exactly what the go
// command refuses when it gets that body from a proxy, so that nothing the go command would
// refuse is ever stored (stored files are immutable), and nothing it accepts is refused.
// Pure functions over the body, thread-safe, never throw; each returns nullopt when the body is
// acceptable, else the problem in words fit for a log line and the 502 answer.

#include <optional>
#include <string>
#include <string_view>

namespace stoa::proxy {

// A .info for `version` (canonical): JSON the go command decodes (see info_json.hpp) whose
// Version is exactly `version` (modfetch's proxyRepo.Stat refuses any other).
std::optional<std::string> info_problem(std::string_view body, std::string_view version);

// A .mod: go.mod text that modfile.ParseLax accepts (see gomod.hpp) with a module statement
// naming a non-empty path (modload refuses a dependency's go.mod without one: "missing module
// line"). The path is deliberately NOT compared with the requested module: the go command
// accepts a go.mod declaring another path when the module is the target of a replace directive
// (a fork that keeps its original module line), and a proxy cannot know how it is required.
std::optional<std::string> go_mod_problem(std::string_view body);

// An @latest or query answer (a .info naming the version it resolved to) for `module`: JSON with
// a canonical Version whose major agrees with the module path (the go command checks both).
std::optional<std::string> resolved_info_problem(std::string_view body, std::string_view module);

}  // namespace stoa::proxy
