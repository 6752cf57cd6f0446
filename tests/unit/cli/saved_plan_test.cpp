#include "cli/saved_plan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/digest.h"

namespace kthw::cli {
namespace {

constexpr const char* kSecret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDsecretbytes";

reconcilers::Action keyWrite(const std::string& path, std::optional<std::string> current) {
  auto a = reconcilers::makeAction(reconcilers::ActionType::kWriteFile, "CertificateBundle/pki",
                                   path, "write " + path + " (key, sha256 1234)", "absent");
  a.file.path = path;
  a.file.mode = 0600;
  a.content = std::string("-----BEGIN PRIVATE KEY-----\n") + kSecret + "\n";
  a.ifCurrentSha256 = std::move(current);
  return a;
}

reconcilers::HostPlan hostPlan(const std::string& name, std::optional<std::string> current) {
  reconcilers::HostPlan p;
  p.host = name;
  p.actions.push_back(keyWrite("/etc/kubernetes/pki/apiserver.key", std::move(current)));
  auto block = reconcilers::makeAction(reconcilers::ActionType::kReplaceBlock, "Host/" + name,
                                       "/etc/hosts", "update /etc/hosts", "1 entry added");
  block.content = "10.0.0.1 controller-1\n";
  p.actions.push_back(block);
  return p;
}

SavedPlan planOf(const std::vector<reconcilers::HostPlan>& plans) {
  SavedPlan saved;
  saved.documentsSha256 = documentsSha256({"{\"kind\":\"Host\"}"});
  for (const auto& p : plans) saved.hosts.push_back(plannedHost(p, true));
  return saved;
}

TEST(SavedPlan, HoldsHashesAndNeverTheContent) {
  const SavedPlan saved = planOf({hostPlan("controller-1", std::nullopt)});
  const std::string json = savedPlanJson(saved);
  EXPECT_EQ(json.find(kSecret), std::string::npos);
  EXPECT_EQ(json.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(json.find("10.0.0.1"), std::string::npos);
  const std::string keySha =
      runtime::sha256Hex(std::string("-----BEGIN PRIVATE KEY-----\n") + kSecret + "\n");
  EXPECT_NE(json.find(keySha), std::string::npos);
  EXPECT_EQ(saved.hosts[0].actions[0].attributes, "root:root 0600");
}

TEST(SavedPlan, RoundTripsThroughAFileOfMode0600) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("kthw-saved-plan-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "plan.json").string();
  {
    std::ofstream old(path);  // an earlier, world-readable file is replaced, not reused
    old << "{}";
  }
  ::chmod(path.c_str(), 0644);
  SavedPlan saved = planOf({hostPlan("controller-1", std::string(64, 'a'))});
  saved.rbac = std::vector<PlannedRbacAction>{{"create", "ClusterRole", "reader", "ff"}};
  ASSERT_TRUE(writeSavedPlan(path, saved).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find(kSecret), std::string::npos);

  auto loaded = readSavedPlan(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->documentsSha256, saved.documentsSha256);
  ASSERT_EQ(loaded->hosts.size(), 1u);
  EXPECT_TRUE(hostPlanChanges(loaded->findHost("controller-1"), saved.hosts[0]).empty());
  ASSERT_TRUE(loaded->rbac.has_value());
  EXPECT_TRUE(rbacPlanChanges(loaded->rbac, *saved.rbac).empty());
  std::filesystem::remove_all(dir);
}

TEST(SavedPlan, RefusesWhatIsNotAPlan) {
  EXPECT_FALSE(parseSavedPlan("{\"hosts\":[]}").ok());
  EXPECT_FALSE(parseSavedPlan("not json").ok());
  EXPECT_FALSE(parseSavedPlan("{\"kind\":\"KthwPlan\",\"version\":2}").ok());
}

TEST(SavedPlanChanges, AChangedHashRefusesThatHostOnly) {
  const SavedPlan saved = planOf({hostPlan("controller-1", std::string(64, 'a')),
                                  hostPlan("controller-2", std::string(64, 'a'))});
  const PlannedHost nowChanged = plannedHost(hostPlan("controller-1", std::string(64, 'b')), true);
  const PlannedHost nowSame = plannedHost(hostPlan("controller-2", std::string(64, 'a')), true);

  const auto changes = hostPlanChanges(saved.findHost("controller-1"), nowChanged);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0],
            "/etc/kubernetes/pki/apiserver.key changed since the plan (sha256 aaaaaaaaaaaa\u2026 "
            "now bbbbbbbbbbbb\u2026)");
  EXPECT_TRUE(hostPlanChanges(saved.findHost("controller-2"), nowSame).empty());
}

TEST(SavedPlanChanges, NamesNewContentAndActionsGoneOrAdded) {
  const SavedPlan saved = planOf({hostPlan("controller-1", std::nullopt)});
  reconcilers::HostPlan now = hostPlan("controller-1", std::nullopt);
  now.actions[0].content = "another key";
  now.actions.pop_back();
  now.actions.push_back(reconcilers::makeAction(reconcilers::ActionType::kRunCommand,
                                                "Host/controller-1", "sysctl", "apply sysctls",
                                                "differs"));
  const auto changes = hostPlanChanges(saved.findHost("controller-1"), plannedHost(now, true));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_NE(changes[0].find("would write changed since the plan"), std::string::npos);
  EXPECT_EQ(changes[1], "update /etc/hosts is no longer planned");
  EXPECT_EQ(changes[2], "apply sysctls was not in the plan");
}

TEST(SavedPlanChanges, AHostOutsideThePlanOrThenUnreachableIsRefused) {
  SavedPlan saved = planOf({});
  const PlannedHost now = plannedHost(hostPlan("worker-1", std::nullopt), true);
  EXPECT_EQ(hostPlanChanges(saved.findHost("worker-1"), now),
            std::vector<std::string>{"worker-1 was not in the plan"});
  saved.hosts.push_back(PlannedHost{"worker-1", false, {}});
  EXPECT_EQ(hostPlanChanges(saved.findHost("worker-1"), now),
            std::vector<std::string>{"worker-1 was unreachable when the plan was made"});
}

TEST(SavedPlanChanges, RbacBodyChangeAndUncomparedRbacAreNamed) {
  const std::vector<PlannedRbacAction> saved{{"create", "ClusterRole", "reader", "aa"}};
  const std::vector<PlannedRbacAction> now{{"create", "ClusterRole", "reader", "bb"}};
  EXPECT_EQ(rbacPlanChanges(saved, now),
            std::vector<std::string>{"ClusterRole/reader changed since the plan"});
  EXPECT_EQ(rbacPlanChanges(std::nullopt, now),
            std::vector<std::string>{"the plan did not compare RBAC objects"});
}

}  // namespace
}  // namespace kthw::cli
