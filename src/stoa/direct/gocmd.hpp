#pragma once
// The go command as a fetcher, in pure functions: the command lines and environment stoa runs it
// with, the parsers of its JSON output, and the classification of its errors into "does not
// exist" and "failed". No I/O; never throw on untrusted input; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::direct {

// What the go subprocess's environment is made of. Nothing else from stoa's environment goes in
// (not even proxy variables) unless it is named in `pass_env`.
struct GoEnv {
  std::string home;       // HOME: where git, hg, ssh and curl find ~/.netrc, ~/.gitconfig, ~/.ssh
  std::string mod_cache;  // GOMODCACHE (persistent, owned by stoa: clones are reused)
  std::string go_cache;   // GOCACHE
  std::string go_path;    // GOPATH
  std::string path;       // PATH (where git, hg, svn, bzr/brz and fossil are found)
  std::string govcs;      // GOVCS
  std::string private_patterns;  // GOPRIVATE (also GONOSUMDB/GONOPROXY through it)
  std::string insecure;          // GOINSECURE
  std::string netrc;             // NETRC (the go command's own HTTPS requests); "" leaves it unset
  std::string git_config;        // GIT_CONFIG_GLOBAL; "" means the HOME's .gitconfig
  // git over ssh (GIT_SSH_COMMAND, see ssh_command()). ssh finds ~/.ssh through the passwd
  // entry, never through HOME, so everything it should read is named here.
  std::string ssh_key;          // private key; "" for ssh's own default identities
  std::string ssh_known_hosts;  // the only known_hosts file; "" leaves ssh's own
  std::string ssh_config;       // ssh configuration file; "" for none
  std::string user;  // USER and LOGNAME (fossil refuses to run without); "" leaves them out
  // "NAME=value" taken from stoa's environment because their names were configured
  // (direct_pass_env), e.g. HTTPS_PROXY. Never one of the variables set above.
  std::vector<std::string> passed;
};

// The whole environment, sorted by name: GOPROXY=direct, GOSUMDB=off (stoa verifies against its
// own checksum database), GOFLAGS empty, GOTOOLCHAIN=local, GOENV=off, GOWORK=off,
// GO111MODULE=on, GOTELEMETRY=off, GIT_TERMINAL_PROMPT=0, GIT_CONFIG_NOSYSTEM=1, LC_ALL=C, and
// the fields of `e`.
std::vector<std::string> build_env(const GoEnv& e);

// GIT_SSH_COMMAND for `e` ("" when no ssh_key and no ssh_known_hosts is set: ssh as the go
// command runs it). ssh reads no configuration but `e.ssh_config` (-F none without one), runs in
// batch mode (no prompt, never a password), checks host keys strictly against `e.ssh_known_hosts`
// alone (StrictHostKeyChecking=yes: a changed key and an unknown host are refused, nothing is
// ever added to the file; the system-wide file is not read) and offers `e.ssh_key` alone. git
// runs it with the shell: every path is single-quoted; ssh's own %-tokens are escaped (%%). The
// paths may not contain double quotes, backslashes or control characters (ssh_path_problem()).
std::string ssh_command(const GoEnv& e);

// Why `path` cannot be handed to ssh in GIT_SSH_COMMAND; nullopt when it can.
std::optional<std::string> ssh_path_problem(std::string_view path);

// The names direct_pass_env may not name: those build_env sets itself.
bool is_reserved_env_name(std::string_view name);

// Argument vectors (after the program name). `module` and `version`/`query` must already be
// valid (module::parse_request): "--" still ends the flags, so nothing can become an option.
std::vector<std::string> download_args(std::string_view module, std::string_view version);
std::vector<std::string> versions_args(std::string_view module);
std::vector<std::string> query_args(std::string_view module, std::string_view query);

// `go mod download -json m@v` output (one JSON object).
struct Download {
  std::string path;
  std::string version;
  std::string error;  // set when the download failed
  std::string info;   // file paths in GOMODCACHE
  std::string go_mod;
  std::string zip;
};
std::optional<Download> parse_download(std::string_view json);

// `go list -m -json [-versions -retracted] m[@query]` output (one JSON object).
struct ModuleInfo {
  std::string path;
  std::string version;
  std::string time;                   // RFC 3339, may be empty
  std::vector<std::string> versions;  // with -versions (retracted included with -retracted)
  std::string error;                  // Error.Err
};
std::optional<ModuleInfo> parse_list(std::string_view json);

// The body of <module>/@v/list: canonical, non-pseudo versions only, one per line.
std::string list_body(const std::vector<std::string>& versions);

// The .info body {"Version":..,"Time":..} (Time omitted when empty).
std::string info_body(std::string_view version, std::string_view time);

enum class ErrorKind : std::uint8_t { not_found, no_repository, failed };

// no_repository: the go command could not find where the module's code lives: the import-path
// lookup failed ("unrecognized import path ...": the ?go-get=1 page could not be fetched or
// named no repository, its host did not resolve, GOVCS forbids the tool it names) or a known
// host's path pattern refused the path ("invalid ... import path", "GOVCS disallows ...").
// The go command reports all of these as "does not exist" in direct mode (modfetch wraps every
// vcs.RepoRootForImportPath error in a notExistError), so that `go get` probing the prefixes of
// a package path goes on to the next one: a proxy answering them with 5xx makes the client fail
// where the go command alone succeeds. Failures after the lookup (cloning, fetching a revision)
// are never no_repository.
// Otherwise the go command's words for "this module or version does not exist" ("unknown
// revision", "no matching versions", "invalid version", "not found", "404 Not Found", "410 Gone")
// make not_found, unless the text also shows a failure that could hide it (network, DNS, TLS,
// timeout, authentication): then failed, and everything else is failed too.
// Occurrences of `module` and `version` in the text are ignored (a module named ".../timeout").
ErrorKind classify(std::string_view go_error, std::string_view module = {},
                   std::string_view version = {});

// One printable line for a client or a log: the last "go: " line of `text` (or its first line),
// credentials redacted (text::redact_credentials), control and non-ASCII bytes replaced, at
// most `max` bytes.
std::string one_line(std::string_view text, std::size_t max = 400);

}  // namespace stoa::direct
