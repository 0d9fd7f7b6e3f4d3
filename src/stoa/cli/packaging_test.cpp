// The hardened systemd unit in packaging/ must pass `systemd-analyze verify` without a single
// complaint (warnings included), with ExecStart pointing at the stoa binary just built.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

struct Verdict {
  int status;
  std::string output;
};

Verdict verify(const std::string& unit_text) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("stoa-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "stoa.service";
  std::ofstream(path) << unit_text;
  const std::string cmd = "systemd-analyze verify '" + path.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  Verdict v{-1, {}};
  if (p != nullptr) {
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p) != nullptr) v.output += buf.data();
    v.status = ::pclose(p);
  }
  std::filesystem::remove_all(dir);
  return v;
}

std::string unit_for_this_build() {
  const char* src = std::getenv("STOA_SOURCE_DIR");
  const char* bin = std::getenv("STOA_BINARY_DIR");
  if (src == nullptr || bin == nullptr) return {};
  std::ifstream in(std::filesystem::path(src) / "packaging" / "stoa.service");
  std::stringstream ss;
  ss << in.rdbuf();
  return std::regex_replace(ss.str(), std::regex("ExecStart=/usr/local/bin/stoa"),
                            "ExecStart=" + (std::filesystem::path(bin) / "stoa").string());
}

TEST(Packaging, SystemdUnitVerifiesCleanly) {
  const std::string unit = unit_for_this_build();
  ASSERT_FALSE(unit.empty())
      << "STOA_SOURCE_DIR/STOA_BINARY_DIR unset or packaging/stoa.service missing";
  ASSERT_NE(unit.find("ExecStart=/"), std::string::npos);
  const Verdict v = verify(unit);
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(v.output, "");
}

TEST(Packaging, VerifierCatchesABrokenUnit) {
  std::string unit = unit_for_this_build();
  ASSERT_FALSE(unit.empty());
  unit = std::regex_replace(unit, std::regex("Type=simple"), "Type=bogus");
  const Verdict v = verify(unit);
  EXPECT_NE(v.output, "") << "systemd-analyze accepted Type=bogus silently";
}

}  // namespace
