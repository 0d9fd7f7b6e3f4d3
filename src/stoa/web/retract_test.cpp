#include "stoa/web/retract.hpp"

#include <gtest/gtest.h>

namespace stoa::web {
namespace {

TEST(Retractions, Forms) {
  const auto r = parse_retractions(R"(module example.com/m

go 1.21

// Published too early.
retract v1.0.0
retract [v1.1.0, v1.1.5] // broken <script>alert(1)</script>
retract (
	v1.2.0 // leaks memory
	[v1.3.0, v1.3.2]
	not-a-version
)
retractx v9.0.0
require example.com/other v1.0.0
)");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].low, "v1.0.0");
  EXPECT_EQ(r[0].rationale, "Published too early.");
  EXPECT_EQ(r[1].high, "v1.1.5");
  EXPECT_EQ(r[1].rationale, "broken <script>alert(1)</script>");  // escaped by the page
  EXPECT_EQ(r[2].low, "v1.2.0");
  EXPECT_EQ(r[2].rationale, "leaks memory");
  EXPECT_EQ(r[3].low, "v1.3.0");
  EXPECT_EQ(r[3].rationale, "");

  EXPECT_NE(retracted(r, "v1.1.3"), nullptr);
  EXPECT_NE(retracted(r, "v1.3.2"), nullptr);
  EXPECT_EQ(retracted(r, "v1.3.3"), nullptr);
  EXPECT_EQ(retracted(r, "v1.0.1"), nullptr);
  EXPECT_EQ(retracted(r, "v9.0.0"), nullptr);
}

TEST(Retractions, HostileInputNeverThrows) {
  for (const char* s : {"retract", "retract [", "retract [v1.0.0", "retract [v1.0.0]",
                        "retract (\n", "retract ( v1.0.0", "\xff\xfe retract v1.0.0", ""}) {
    EXPECT_NO_THROW((void)parse_retractions(s)) << s;
  }
}

}  // namespace
}  // namespace stoa::web
