#include "stoa/module/semver.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string_view>
#include <vector>

namespace stoa::module::semver {
namespace {

struct ParseCase {
  std::string_view input;
  std::string_view canonical;  // "" when invalid
  std::string_view major;
  std::string_view prerelease;
  std::string_view build;
};

TEST(Semver, ParseTable) {
  const ParseCase cases[] = {
      {"bad", "", "", "", ""},
      {"", "", "", "", ""},
      {"v", "", "", "", ""},
      {"1.2.3", "", "", "", ""},
      {"V1.2.3", "", "", "", ""},
      {"v1", "v1.0.0", "v1", "", ""},
      {"v1.2", "v1.2.0", "v1", "", ""},
      {"v1.2.3", "v1.2.3", "v1", "", ""},
      {"v0.0.0", "v0.0.0", "v0", "", ""},
      {"v10.20.30", "v10.20.30", "v10", "", ""},
      {"v01", "", "", "", ""},
      {"v1.02", "", "", "", ""},
      {"v1.2.03", "", "", "", ""},
      {"v1.", "", "", "", ""},
      {"v1.2.", "", "", "", ""},
      {"v1.2.3.4", "", "", "", ""},
      {"v1-pre", "", "", "", ""},  // short forms take no prerelease
      {"v1.2-pre", "", "", "", ""},
      {"v1+meta", "", "", "", ""},
      {"v1.2.3-pre", "v1.2.3-pre", "v1", "-pre", ""},
      {"v1.2.3-pre.1.a-b", "v1.2.3-pre.1.a-b", "v1", "-pre.1.a-b", ""},
      {"v1.2.3-0", "v1.2.3-0", "v1", "-0", ""},
      {"v1.2.3-01", "", "", "", ""},  // numeric identifier with a leading zero
      {"v1.2.3-0a", "v1.2.3-0a", "v1", "-0a", ""},
      {"v1.2.3-pre.01", "", "", "", ""},
      {"v1.2.3-", "", "", "", ""},
      {"v1.2.3-pre.", "", "", "", ""},
      {"v1.2.3-pre..x", "", "", "", ""},
      {"v1.2.3-pre_x", "", "", "", ""},
      {"v1.2.3-RC1", "v1.2.3-RC1", "v1", "-RC1", ""},
      {"v1.2.3+meta", "v1.2.3", "v1", "", "+meta"},
      {"v1.2.3+01.x-y", "v1.2.3", "v1", "", "+01.x-y"},  // leading zeros are fine in builds
      {"v1.2.3+", "", "", "", ""},
      {"v1.2.3+a..b", "", "", "", ""},
      {"v1.2.3+a+b", "", "", "", ""},
      {"v1.2.3-pre+meta", "v1.2.3-pre", "v1", "-pre", "+meta"},
      {"v2.0.0+incompatible", "v2.0.0+incompatible", "v2", "", "+incompatible"},
      {"v2.0.0-rc.1+incompatible", "v2.0.0-rc.1+incompatible", "v2", "-rc.1", "+incompatible"},
      {"v2.0.0+incompatible.x", "v2.0.0", "v2", "", "+incompatible.x"},
      {"v1.2.3 ", "", "", "", ""},
      {"v99999999999999999999.0.0", "v99999999999999999999.0.0", "v99999999999999999999", "", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_valid(c.input), !c.canonical.empty()) << c.input;
    EXPECT_EQ(canonical(c.input), c.canonical) << c.input;
    EXPECT_EQ(major(c.input), c.major) << c.input;
    EXPECT_EQ(prerelease(c.input), c.prerelease) << c.input;
    EXPECT_EQ(build(c.input), c.build) << c.input;
    EXPECT_EQ(is_canonical(c.input), !c.canonical.empty() && c.canonical == c.input) << c.input;
  }
}

TEST(Semver, CompareOrder) {
  // Strictly increasing, except that each group of equal versions shares a rank.
  const std::vector<std::vector<std::string_view>> ranks = {
      {"bad", "", "1.0.0"},  // all invalid versions are equal and below every valid one
      {"v0.0.0-0"},
      {"v0.0.0-0.0"},
      {"v0.0.0-1"},
      {"v0.0.0-9"},
      {"v0.0.0-10"},
      {"v0.0.0-A"},
      {"v0.0.0-a"},
      {"v0.0.0-a.1"},
      {"v0.0.0-a.b"},
      {"v0.0.0-b"},
      {"v0.0.0", "v0", "v0.0", "v0.0.0+meta"},
      {"v0.0.1"},
      {"v0.1.0"},
      {"v1.0.0-alpha"},
      {"v1.0.0-alpha.1"},
      {"v1.0.0-alpha.beta"},
      {"v1.0.0-beta"},
      {"v1.0.0-beta.2"},
      {"v1.0.0-beta.11"},
      {"v1.0.0-rc.1"},
      {"v1.0.0", "v1", "v1.0.0+incompatible"},
      {"v1.2.0", "v1.2"},
      {"v1.9.0"},
      {"v1.10.0"},
      {"v2.0.0"},
      {"v10.0.0"},
      {"v99999999999999999999.0.0"},
  };
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    for (std::size_t j = 0; j < ranks.size(); ++j) {
      int want = i < j ? -1 : (i > j ? 1 : 0);
      for (auto a : ranks[i]) {
        for (auto b : ranks[j]) EXPECT_EQ(compare(a, b), want) << a << " vs " << b;
      }
    }
  }
}

TEST(Semver, IsPseudo) {
  struct Case {
    std::string_view input;
    bool pseudo;
  };
  const Case cases[] = {
      {"v0.0.0-20191109021931-daa7c04131f5", true},        // form 1
      {"v2.0.0-20191109021931-daa7c04131f5", true},        // form 1, other major
      {"v1.2.4-0.20191109021931-daa7c04131f5", true},      // form 2
      {"v1.2.3-pre.0.20191109021931-daa7c04131f5", true},  // form 3
      {"v1.2.3-a.b.0.20191109021931-daa7c04131f5", true},  // form 3, dotted prerelease
      {"v1.2.4-0.20191109021931-daa7c04131f5+incompatible", true},
      {"v0.0.0-20191109021931-daa7c04131f5+a.b-c", true},
      {"v0.0.0-20191109021931-DAA7C04131F5", true},
      {"v0.0.0-20191109021931-x", true},
      {"v1.0.0-20191109021931-daa7c04131f5", true},  // form 1, any major
      {"v0.1.0-20191109021931-daa7c04131f5", false},
      {"v0.0.0-2019110902193-daa7c04131f5", false},    // 13 digits
      {"v0.0.0-201911090219310-daa7c04131f5", false},  // 15 digits
      {"v0.0.0-20191109021931-", false},
      {"v0.0.0-20191109021931", false},
      {"v0.0.0-20191109021931-daa7c0.4131f5", false},
      {"v1.2.4-1.20191109021931-daa7c04131f5", false},
      {"v1.2.3-pre0.20191109021931-daa7c04131f5", false},    // "0." must follow a dot
      {"v1.2.3-pre.00.20191109021931-daa7c04131f5", false},  // invalid semver
      {"v1.2.3-pre-0.20191109021931-daa7c04131f5", false},
      {"v1.2-0.20191109021931-daa7c04131f5", false},
      {"v1.2.3", false},
      {"v1.2.3-pre", false},
      {"master", false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_pseudo(c.input), c.pseudo) << c.input;
}

}  // namespace
}  // namespace stoa::module::semver
