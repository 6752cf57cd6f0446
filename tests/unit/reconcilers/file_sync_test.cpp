// The one file sync of the host-scoped reconcilers (reconcilers/file_sync.h): a write only when
// the host's file drifts, the reason people read, the guard on the content the host had, and a
// content diff only when the host had other content.
#include "reconcilers/file_sync.h"

#include <gtest/gtest.h>

#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

const runtime::FileSpec kSpec{"/etc/kthw/x.conf", "root", "root", 0644};

runtime::FileState onHost(const std::string& content, unsigned mode = 0644,
                          const std::string& group = "root") {
  return {runtime::FileType::kFile,   mode, "root", group, content.size(),
          runtime::sha256Hex(content)};
}

HostPlan sync(const std::optional<runtime::FileState>& st,
              std::string_view differs = "unit differs", bool showDiff = true) {
  runtime::ProbeResult observed;
  if (st) observed.files[kSpec.path] = *st;
  HostPlan plan;
  const bool wrote = syncFile("Host/h", kSpec, "wanted\n", observed, plan, differs, showDiff);
  EXPECT_EQ(wrote, !plan.actions.empty());
  return plan;
}

TEST(FileSync, AnAbsentFileIsWrittenAndMustStillBeAbsent) {
  HostPlan plan = sync(std::nullopt);
  ASSERT_EQ(plan.actions.size(), 1u);
  const Action& a = plan.actions[0];
  EXPECT_EQ(a.type, ActionType::kWriteFile);
  EXPECT_EQ(a.summary, "write /etc/kthw/x.conf");
  EXPECT_EQ(a.reason, "absent");
  EXPECT_EQ(a.ifCurrentSha256, "");
  EXPECT_FALSE(a.showContentDiff);
  EXPECT_EQ(a.content, "wanted\n");
  EXPECT_EQ(a.file.mode, 0644u);
}

TEST(FileSync, OtherContentIsReplacedOnlyIfTheHostStillHasIt) {
  HostPlan plan = sync(onHost("edited\n"));
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].reason, "unit differs");
  EXPECT_EQ(plan.actions[0].ifCurrentSha256, runtime::sha256Hex("edited\n"));
  EXPECT_TRUE(plan.actions[0].showContentDiff);
  EXPECT_FALSE(sync(onHost("edited\n"), "content differs", false).actions[0].showContentDiff);
}

TEST(FileSync, OwnerGroupOrModeAloneIsRewrittenWithoutAContentDiff) {
  for (const auto& st : {onHost("wanted\n", 0600), onHost("wanted\n", 0644, "adm")}) {
    HostPlan plan = sync(st);
    ASSERT_EQ(plan.actions.size(), 1u);
    EXPECT_EQ(plan.actions[0].reason,
              "owner or mode root:" + st.group + " " + runtime::formatMode(st.mode));
    EXPECT_FALSE(plan.actions[0].showContentDiff);
  }
}

TEST(FileSync, ADirectoryInThePlaceOfTheFileIsNotAContentDiff) {
  runtime::FileState dir{runtime::FileType::kDirectory, 0755, "root", "root", 0, ""};
  HostPlan plan = sync(dir);
  ASSERT_EQ(plan.actions.size(), 1u);
  EXPECT_EQ(plan.actions[0].reason, "unit differs");
  EXPECT_FALSE(plan.actions[0].showContentDiff);
}

TEST(FileSync, AFileAsWantedTakesNoAction) {
  EXPECT_TRUE(sync(onHost("wanted\n")).actions.empty());
  EXPECT_EQ(fileDrift(onHost("wanted\n"), kSpec, runtime::sha256Hex("wanted\n")), "");
}

}  // namespace
}  // namespace kthw::reconcilers
