#include "reconcilers/unified_diff.h"

#include <gtest/gtest.h>

namespace kthw::reconcilers {
namespace {

TEST(UnifiedDiff, ShowsChangedLinesWithContext) {
  const std::string before = "a\nb\nc\nd\ne\nf\ng\nh\n";
  const std::string after = "a\nb\nc\nD\ne\nf\ng\nh\n";
  EXPECT_EQ(unifiedDiff(before, after, "x"),
            "--- x (on host)\n+++ x (desired)\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n");
}

TEST(UnifiedDiff, HandlesCreationAndSeparateHunks) {
  EXPECT_EQ(unifiedDiff("", "new\n", "x"),
            "--- x (on host)\n+++ x (desired)\n@@ -0,0 +1,1 @@\n+new\n");
  std::string before;
  std::string after;
  for (int i = 0; i < 20; ++i) {
    before += std::to_string(i) + "\n";
    after += (i == 2 || i == 17 ? "X" : std::to_string(i)) + "\n";
  }
  const std::string d = unifiedDiff(before, after, "x");
  EXPECT_NE(d.find("@@ -1,6 +1,6 @@"), std::string::npos) << d;
  EXPECT_NE(d.find("@@ -15,6 +15,6 @@"), std::string::npos) << d;
}

}  // namespace
}  // namespace kthw::reconcilers
