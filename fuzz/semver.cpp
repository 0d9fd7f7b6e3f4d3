// Semantic versions: compare is a total order consistent with canonical (which merge_list and
// pick_latest sort by; std::sort with a broken order is undefined behaviour), canonical is
// idempotent and yields valid versions, and the accessors agree with is_valid.
// Input: up to three versions, one per line.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/module/semver.hpp"

namespace {

using stoa::fuzz::require;
namespace semver = stoa::module::semver;

void check_one(std::string_view v) {
  const bool valid = semver::is_valid(v);
  const std::string c = semver::canonical(v);
  require(semver::compare(v, v) == 0, "compare(v, v) != 0", v);
  if (!valid) {
    require(c.empty(), "canonical of an invalid version is not empty", v);
    require(semver::major(v).empty() && semver::prerelease(v).empty() && semver::build(v).empty(),
            "major/prerelease/build of an invalid version are not empty", v);
    require(!semver::is_pseudo(v), "an invalid version is a pseudo-version", v);
    require(!semver::is_canonical(v), "an invalid version is canonical", v);
    return;
  }
  require(semver::is_valid(c), "canonical of a valid version is invalid", v);
  require(semver::canonical(c) == c, "canonical is not idempotent", v);
  require(semver::is_canonical(c), "canonical(v) is not is_canonical", v);
  require(semver::compare(v, c) == 0 && semver::compare(c, v) == 0,
          "a version does not compare equal to its canonical form", v);
  require(semver::is_canonical(v) == (c == v), "is_canonical(v) != (canonical(v) == v)", v);

  const std::string major = semver::major(v);
  require(major.size() >= 2 && major.front() == 'v' && semver::is_valid(major),
          "major of a valid version is not vN", v);
  require(c.starts_with(major + "."), "canonical does not start with the major", v);
  const std::string pre = semver::prerelease(v);
  require(pre.empty() || (pre.front() == '-' && v.find(pre) != std::string_view::npos),
          "prerelease is not a '-' suffix part of the version", v);
  const std::string build = semver::build(v);
  require(build.empty() || (build.front() == '+' && v.ends_with(build)),
          "build is not the '+' suffix of the version", v);
  require(semver::prerelease(c) == pre, "canonical changed the prerelease", v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto f = stoa::fuzz::fields(stoa::fuzz::as_text(data, size), 3);
  for (const auto v : f) check_one(v);

  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = 0; j < 3; ++j) {
      const int ab = semver::compare(f[i], f[j]);
      require(ab == -1 || ab == 0 || ab == 1, "compare is not -1, 0 or 1", f[i]);
      require(ab == -semver::compare(f[j], f[i]), "compare is not antisymmetric",
              std::string(f[i]) + "\n" + std::string(f[j]));
      if (semver::is_valid(f[i]) != semver::is_valid(f[j])) {
        require(ab == (semver::is_valid(f[i]) ? 1 : -1), "an invalid version is not the least",
                std::string(f[i]) + "\n" + std::string(f[j]));
      }
      // Transitivity: a <= b and b <= c imply a <= c, with equality only if both are equal.
      for (std::size_t k = 0; k < 3; ++k) {
        const int bc = semver::compare(f[j], f[k]);
        const int ac = semver::compare(f[i], f[k]);
        if (ab <= 0 && bc <= 0) {
          require(ac == (ab == 0 && bc == 0 ? 0 : -1), "compare is not transitive",
                  std::string(f[i]) + "\n" + std::string(f[j]) + "\n" + std::string(f[k]));
        }
      }
    }
  }
  return 0;
}
