#pragma once
// The version filter seam: which versions of a module may be listed and resolved. Everything
// that names versions to a client passes through it: `list` (a hidden version is left out),
// `@latest` (never a hidden version: a hidden answer is a 404, after which the go command
// computes the latest version from the filtered list), queries and the files of a version
// (a hidden version is refused with 403 and the reason), and /index and /catalog (hidden
// entries are not listed). Deny rules, a minimum release age or known vulnerabilities are
// filters; none is configured today (ServiceOptions::version_filter is null: nothing hidden).
//
// Thread-safe: check() is called concurrently from serving and worker threads; it must be
// cheap (it runs on every answer that names a version) and must not throw.

#include <string>
#include <string_view>

namespace stoa::proxy {

class VersionFilter {
 public:
  virtual ~VersionFilter() = default;

  struct Verdict {
    bool hidden = false;
    std::string reason;  // why it is hidden, one line for the client ("" when allowed)
  };
  // `module` and `version` are decoded; `time` is the version's RFC 3339 time when the answer
  // carries one (a .info, a list line with a time), else "".
  virtual Verdict check(std::string_view module, std::string_view version,
                        std::string_view time) const = 0;
};

// `list_body` (one "version [time]" per line) without the lines of hidden versions. Pure.
std::string filter_list(const VersionFilter& filter, std::string_view module,
                        std::string_view list_body);

}  // namespace stoa::proxy
