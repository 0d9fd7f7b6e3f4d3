#pragma once
// The version filter seam: which versions of a module may be listed and resolved. Everything
// that names versions to a client passes through it: `list` (a hidden version is left out),
// `@latest` (never a hidden version: a hidden answer is a 404, after which the go command
// computes the latest version from the filtered list), queries and the files of a version
// (a hidden version is refused with 403 and the reason), and /index and /catalog (hidden
// entries are not listed). Hidden @latest: the newest version the filter allows answers instead
// (meta.hpp), or a 403 with the reason when it allows none. The policy's deny rules and minimum
// release ages are one filter (policy_filter.hpp); known vulnerabilities plug in the same way.
// ServiceOptions::version_filter null: nothing hidden.
//
// Thread-safe: check() is called concurrently from serving and worker threads; it must be
// cheap (it runs on every answer that names a version) and must not throw.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::proxy {

class VersionFilter {
 public:
  virtual ~VersionFilter() = default;

  struct Verdict {
    bool hidden = false;
    std::string reason;  // why it is hidden, one line for the client ("" when allowed)
    // For metrics and logs, bounded sets (never a module name): the rule that hid it ("/cooldown"
    // for a client's prefix) and the kind of filter ("deny", "cooldown").
    std::string rule;
    std::string cause;
  };
  // What the asking request adds to the filter.
  struct Asked {
    // A client's /cooldown/<age>/ path prefix (0: none): versions younger are hidden too.
    std::chrono::seconds min_age{0};
    // The files of an exact version (.info, .mod, .zip of a canonical version), as opposed to a
    // list, @latest or a query.
    bool pinned = false;
  };
  // Whether check() may hide anything at all now (false: every answer may skip the filter, and
  // small stored files may be answered from memory before any decision). Cheap, lock-free.
  // A client's /cooldown/ prefix makes any filter apply (applies()).
  virtual bool active() const { return true; }
  bool applies(const Asked& asked) const { return asked.min_age.count() > 0 || active(); }
  // Whether check() of module@version answers now without waiting on I/O (an index read or
  // write); version "" for any version an answer about the whole module names (a list,
  // @latest, a query). False sends the request to a worker: check() may block there, never on
  // a serving thread. Cheap, never blocks.
  virtual bool ready(std::string_view /*module*/, std::string_view /*version*/,
                     const Asked& /*asked*/) const {
    return true;
  }
  // `module` and `version` are decoded; `time` is the version's RFC 3339 time when the answer
  // carries one (a .info, a list line with a time), else "".
  virtual Verdict check(std::string_view module, std::string_view version, std::string_view time,
                        const Asked& asked) const = 0;
  Verdict check(std::string_view module, std::string_view version, std::string_view time) const {
    return check(module, version, time, Asked{});
  }
};

// The first line of a 403 for a hidden version: "<module>@<version> is in cooldown until ..."
// for a cooldown, "forbidden: <module>@<version> is filtered: <reason>" otherwise.
std::string refusal(std::string_view module, std::string_view version,
                    const VersionFilter::Verdict& verdict);

struct HiddenVersion {
  std::string version;
  VersionFilter::Verdict verdict;
};

// `list_body` (one "version [time]" per line) without the lines of hidden versions, which are
// appended to `hidden` when it is not null. Pure.
std::string filter_list(const VersionFilter& filter, std::string_view module,
                        std::string_view list_body, std::vector<HiddenVersion>* hidden = nullptr,
                        const VersionFilter::Asked& asked = {});

// "v1.2.0 (rule "x"), v1.3.0 (rule "y")": the hidden versions and their rules, for a log line.
std::string describe_hidden(const std::vector<HiddenVersion>& hidden);

}  // namespace stoa::proxy
