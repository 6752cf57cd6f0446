#include "resources/formats.h"

#include <gtest/gtest.h>

namespace kthw::resources {
namespace {

TEST(Formats, RecognisesIPv4) {
  EXPECT_TRUE(isIPv4("10.0.1.10"));
  EXPECT_FALSE(isIPv4("10.0.1.256"));
  EXPECT_FALSE(isIPv4("10.0.1"));
  EXPECT_FALSE(isIPv4("::1"));
  EXPECT_TRUE(isIPv6("fd00::1"));
}

TEST(Formats, RecognisesHostnames) {
  EXPECT_TRUE(isHostname("kubernetes.default.svc.cluster.local"));
  EXPECT_TRUE(isHostname("ip-10-0-1-20"));
  EXPECT_FALSE(isHostname("-bad"));
  EXPECT_FALSE(isHostname("a..b"));
  EXPECT_FALSE(isHostname("under_score"));
  EXPECT_FALSE(isHostname(std::string(64, 'a')));
}

TEST(Formats, ParsesCidrsAndDetectsOverlap) {
  auto services = parseCidr("10.32.0.0/24");
  auto pods = parseCidr("10.200.0.0/16");
  auto wide = parseCidr("10.0.0.0/8");
  ASSERT_TRUE(services && pods && wide);
  EXPECT_FALSE(services->overlaps(*pods));
  EXPECT_TRUE(wide->overlaps(*services));
  EXPECT_TRUE(services->overlaps(*wide));
  EXPECT_TRUE(services->contains("10.32.0.1"));
  EXPECT_FALSE(services->contains("10.33.0.1"));
  EXPECT_FALSE(parseCidr("10.32.0.0/33"));
  EXPECT_FALSE(parseCidr("10.32.0.0"));
  EXPECT_FALSE(parseCidr("10.32.0.0/"));
}

TEST(Formats, ParsesGoDurations) {
  EXPECT_EQ(parseDuration("8760h")->count(), 8760 * 3600);
  EXPECT_EQ(parseDuration("1h30m")->count(), 5400);
  EXPECT_EQ(parseDuration("10s")->count(), 10);
  EXPECT_FALSE(parseDuration("10 days"));
  EXPECT_FALSE(parseDuration("h"));
  EXPECT_FALSE(parseDuration(""));
}

}  // namespace
}  // namespace kthw::resources
