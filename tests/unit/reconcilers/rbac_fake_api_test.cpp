// The RBAC reconciler against an in-memory API (tests/support/fake_api_client.h): the exact
// requests of each plan and apply, and that a second pass only reads.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "../../support/fake_api_client.h"
#include "../resources/test_util.h"
#include "reconcilers/rbac_reconciler.h"

namespace kthw::reconcilers {
namespace {

// The two objects every cluster gets: the API server's access to kubelets.
const char* kKubeletAccess = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:kube-apiserver-to-kubelet}
rules: [{apiGroups: [""], resources: [nodes/proxy, nodes/stats], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:kube-apiserver, namespace: ""}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kube-apiserver-to-kubelet}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kubernetes}]
)";

const std::string kRolesPath = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
const std::string kBindingsPath = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings";
const std::string kRolePath = kRolesPath + "/system:kube-apiserver-to-kubelet";
const std::string kBindingPath = kBindingsPath + "/system:kube-apiserver";
const std::string kManagedOnly = "?labelSelector=app.kubernetes.io/managed-by=kthw";
// What every plan reads: the managed objects of both kinds, then each desired object.
const std::vector<std::string> kPlanReads = {"GET " + kBindingsPath + kManagedOnly,
                                             "GET " + kRolesPath + kManagedOnly, "GET " + kRolePath,
                                             "GET " + kBindingPath};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Plans and applies against an in-memory API (tests/support/fake_api_client.h), as
// sample-controller's tests do against a fake clientset: the end state, the exact requests, and
// that a second pass changes nothing.
class RbacAgainstFakeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = resources::testing::loadText(kKubeletAccess, "rbac.yaml");
    ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
    state_ = o.state;
    ASSERT_EQ(state_.rbac.size(), 2u);
  }

  std::string desiredRole() const { return desiredRbacJson(state_.rbac.at(0)); }
  std::string desiredBinding() const { return desiredRbacJson(state_.rbac.at(1)); }

  // Both desired objects as the API holds them after kthw wrote them.
  void seedConverged() {
    api_.seed(kRolePath, desiredRole());
    api_.seed(kBindingPath, desiredBinding());
  }

  // One reconcile: plan and apply; every action must succeed. Returns the requests it sent.
  std::vector<std::string> pass(RbacPlan* planOut = nullptr) {
    api_.requests.clear();
    auto plan = planRbac(state_, api_);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    if (!plan.ok()) return api_.actions();
    for (const Status& s : applyRbac(*plan, api_)) EXPECT_TRUE(s.ok()) << s.message();
    if (planOut != nullptr) *planOut = *plan;
    return api_.actions();
  }

  // The second pass of a converged cluster: the reads of a plan and nothing else.
  void expectSteadyState() {
    RbacPlan plan;
    EXPECT_EQ(pass(&plan), kPlanReads);
    EXPECT_TRUE(plan.actions.empty());
    EXPECT_TRUE(api_.mutations().empty());
  }

  void expectStored(const std::string& path, const std::string& desiredJson) {
    ASSERT_EQ(api_.objects.count(path), 1u) << path;
    EXPECT_TRUE(rbacSemanticallyEqual(desiredJson, api_.objects.at(path))) << api_.objects.at(path);
  }

  static std::vector<std::string> types(const RbacPlan& plan) {
    std::vector<std::string> out;
    for (const RbacAction& a : plan.actions) {
      out.push_back(rbacActionName(a.type) + " " + a.kind + "/" + a.name);
    }
    return out;
  }

  resources::DesiredState state_;
  kthw::testing::FakeApiClient api_;
};

TEST_F(RbacAgainstFakeApi, CreatesWhatIsAbsent) {
  RbacPlan plan;
  EXPECT_EQ(pass(&plan), concat(kPlanReads, {"POST " + kRolesPath, "POST " + kBindingsPath}));
  EXPECT_EQ(types(plan),
            (std::vector<std::string>{"create ClusterRole/system:kube-apiserver-to-kubelet",
                                      "create ClusterRoleBinding/system:kube-apiserver"}));
  expectStored(kRolePath, desiredRole());
  expectStored(kBindingPath, desiredBinding());
  EXPECT_EQ(api_.objects.size(), 2u);
  expectSteadyState();
}

TEST_F(RbacAgainstFakeApi, UpdatesRulesThatDifferWithTheResourceVersionRead) {
  api_.seed(kRolePath, R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
    "metadata":{"name":"system:kube-apiserver-to-kubelet","resourceVersion":"7",
      "labels":{"app.kubernetes.io/managed-by":"kthw"}},
    "rules":[{"apiGroups":[""],"resources":["nodes/proxy"],"verbs":["get"]}]})");
  api_.seed(kBindingPath, desiredBinding());
  RbacPlan plan;
  // The update reads the object again for its resourceVersion, then PUTs.
  EXPECT_EQ(pass(&plan), concat(kPlanReads, {"GET " + kRolePath, "PUT " + kRolePath}));
  EXPECT_EQ(types(plan),
            std::vector<std::string>{"update ClusterRole/system:kube-apiserver-to-kubelet"});
  ASSERT_EQ(api_.requests.size(), 6u);
  rapidjson::Document put;
  put.Parse(api_.requests.back().body.c_str());
  EXPECT_STREQ(put["metadata"]["resourceVersion"].GetString(), "7");
  expectStored(kRolePath, desiredRole());
  expectSteadyState();
}

TEST_F(RbacAgainstFakeApi, RecreatesABindingWhoseRoleRefChanged) {
  api_.seed(kRolePath, desiredRole());
  std::string otherRole = desiredBinding();
  otherRole.replace(otherRole.find(R"("name":"system:kube-apiserver-to-kubelet")"),
                    std::string(R"("name":"system:kube-apiserver-to-kubelet")").size(),
                    R"("name":"cluster-admin")");
  api_.seed(kBindingPath, otherRole);
  RbacPlan plan;
  // roleRef is immutable (a PUT answers 422): delete, then create.
  EXPECT_EQ(pass(&plan), concat(kPlanReads, {"DELETE " + kBindingPath, "POST " + kBindingsPath}));
  EXPECT_EQ(types(plan),
            std::vector<std::string>{"recreate ClusterRoleBinding/system:kube-apiserver"});
  expectStored(kBindingPath, desiredBinding());
  EXPECT_NE(api_.objects.at(kBindingPath).find("system:kube-apiserver-to-kubelet"),
            std::string::npos);
  expectSteadyState();
}

TEST_F(RbacAgainstFakeApi, PrunesWhatKthwLabelledAndLeavesOthersAlone) {
  seedConverged();
  const std::string label = R"("labels":{"app.kubernetes.io/managed-by":"kthw"})";
  api_.seed(kRolesPath + "/kthw-old",
            R"({"kind":"ClusterRole","metadata":{"name":"kthw-old",)" + label + R"(},"rules":[]})");
  api_.seed(kBindingsPath + "/kthw-old",
            R"({"kind":"ClusterRoleBinding","metadata":{"name":"kthw-old",)" + label +
                R"(},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole",)"
                R"("name":"kthw-old"}})");
  // Another owner's objects: no label, or another manager's.
  api_.seed(kRolesPath + "/someone-elses",
            R"({"kind":"ClusterRole","metadata":{"name":"someone-elses"},"rules":[]})");
  api_.seed(kRolesPath + "/helms",
            R"({"kind":"ClusterRole","metadata":{"name":"helms",)"
            R"("labels":{"app.kubernetes.io/managed-by":"Helm"}},"rules":[]})");
  RbacPlan plan;
  // Deletions first, bindings before the roles they name.
  EXPECT_EQ(pass(&plan), concat(kPlanReads, {"DELETE " + kBindingsPath + "/kthw-old",
                                             "DELETE " + kRolesPath + "/kthw-old"}));
  EXPECT_EQ(types(plan), (std::vector<std::string>{"delete ClusterRoleBinding/kthw-old",
                                                   "delete ClusterRole/kthw-old"}));
  EXPECT_EQ(api_.objects.count(kRolesPath + "/someone-elses"), 1u);
  EXPECT_EQ(api_.objects.count(kRolesPath + "/helms"), 1u);
  EXPECT_EQ(api_.objects.size(), 4u);
  expectSteadyState();
}

TEST_F(RbacAgainstFakeApi, AConvergedClusterGetsOnlyReads) {
  seedConverged();
  const std::map<std::string, std::string> before = api_.objects;
  expectSteadyState();
  EXPECT_EQ(api_.objects, before);
  // Nor does applying the empty plan send anything.
  api_.requests.clear();
  EXPECT_TRUE(applyRbac(RbacPlan{}, api_).empty());
  EXPECT_TRUE(api_.requests.empty());
}

TEST_F(RbacAgainstFakeApi, AConflictIsRetriedWithAFreshRead) {
  api_.seed(kRolePath,
            R"({"kind":"ClusterRole","metadata":{"name":"system:kube-apiserver-to-kubelet",
    "labels":{"app.kubernetes.io/managed-by":"kthw"}},"rules":[]})");
  api_.seed(kBindingPath, desiredBinding());
  // Another writer changes the role between kthw's read and its first PUT.
  bool written = false;
  api_.beforeAnswer = [&](const kthw::testing::FakeApiClient::Request& r) {
    if (written || r.method != "PUT") return;
    written = true;
    api_.seed(kRolePath,
              R"({"kind":"ClusterRole","metadata":{"name":"system:kube-apiserver-to-kubelet",
      "labels":{"app.kubernetes.io/managed-by":"kthw"}},"rules":[],"aggregationRule":{}})");
  };
  EXPECT_EQ(pass(), concat(kPlanReads, {"GET " + kRolePath, "PUT " + kRolePath, "GET " + kRolePath,
                                        "PUT " + kRolePath}));
  EXPECT_TRUE(written);
  expectStored(kRolePath, desiredRole());
  expectSteadyState();
}

TEST_F(RbacAgainstFakeApi, AConflictThatPersistsGivesUpAfterThreeAttempts) {
  api_.seed(kRolePath,
            R"({"kind":"ClusterRole","metadata":{"name":"system:kube-apiserver-to-kubelet",
    "labels":{"app.kubernetes.io/managed-by":"kthw"}},"rules":[]})");
  api_.seed(kBindingPath, desiredBinding());
  api_.fail("PUT", kRolePath, 409, 100);
  auto plan = planRbac(state_, api_);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  api_.requests.clear();
  const std::vector<Status> results = applyRbac(*plan, api_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), StatusCode::kAborted) << results[0].message();
  EXPECT_EQ(api_.actions(),
            (std::vector<std::string>{"GET " + kRolePath, "PUT " + kRolePath, "GET " + kRolePath,
                                      "PUT " + kRolePath, "GET " + kRolePath, "PUT " + kRolePath}));
}

TEST_F(RbacAgainstFakeApi, AFailedReadPlansNothing) {
  api_.fail("GET", kRolesPath, 403);
  auto plan = planRbac(state_, api_);
  EXPECT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("HTTP 403"), std::string::npos) << plan.status().message();
  api_.requests.clear();
  api_.fail("GET", kBindingPath, 500);
  EXPECT_FALSE(planRbac(state_, api_).ok());
  EXPECT_TRUE(api_.mutations().empty());
}

// The diff alone: what the reads returned in, the plan out, no API at all.
TEST_F(RbacAgainstFakeApi, TheDiffIsAFunctionOfWhatWasRead) {
  ObservedRbac observed;
  // Nothing read: everything is created.
  EXPECT_EQ(types(diffRbac(state_, observed)),
            (std::vector<std::string>{"create ClusterRole/system:kube-apiserver-to-kubelet",
                                      "create ClusterRoleBinding/system:kube-apiserver"}));
  observed.objects[rbacKey("ClusterRole", "system:kube-apiserver-to-kubelet")] = desiredRole();
  observed.objects[rbacKey("ClusterRoleBinding", "system:kube-apiserver")] = std::nullopt;
  observed.managed = {{rbacKey("ClusterRole", "system:kube-apiserver-to-kubelet"), desiredRole()},
                      {rbacKey("ClusterRole", "gone"), R"({"metadata":{"name":"gone"}})"}};
  const RbacPlan plan = diffRbac(state_, observed);
  EXPECT_EQ(types(plan),
            (std::vector<std::string>{"delete ClusterRole/gone",
                                      "create ClusterRoleBinding/system:kube-apiserver"}));
  EXPECT_EQ(plan.actions.at(1).body, desiredBinding());
  EXPECT_NE(plan.actions.at(0).diff.find("-  name: gone"), std::string::npos)
      << plan.actions.at(0).diff;
  // Read as desired: nothing to do.
  observed.objects[rbacKey("ClusterRoleBinding", "system:kube-apiserver")] = desiredBinding();
  observed.managed.pop_back();
  EXPECT_TRUE(diffRbac(state_, observed).actions.empty());
}

}  // namespace
}  // namespace kthw::reconcilers
