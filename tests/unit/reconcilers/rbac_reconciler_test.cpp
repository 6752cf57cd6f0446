#include "reconcilers/rbac_reconciler.h"

#include <gtest/gtest.h>

#include "../resources/test_util.h"

namespace kthw::reconcilers {
namespace {

const char* kBinding = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:kube-apiserver
  namespace: ""
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kube-apiserver-to-kubelet
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: kubernetes
)";

std::string desired() {
  auto o = resources::testing::loadText(kBinding);
  EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  return desiredRbacJson(o.state.rbac.at(0));
}

TEST(RbacReconciler, DesiredObjectsCarryTheManagedByLabelAndNoNamespace) {
  const std::string json = desired();
  EXPECT_NE(json.find(R"("app.kubernetes.io/managed-by":"kthw")"), std::string::npos) << json;
  EXPECT_EQ(json.find("namespace"), std::string::npos);
}

TEST(RbacReconciler, IgnoresServerFieldsAndDefaulting) {
  // As the API returns it: server metadata, kubectl's annotation, an extra label, and the
  // subject's apiGroup left to defaulting in the desired state.
  const std::string observed =
      R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
    "metadata":{"name":"system:kube-apiserver","uid":"1","resourceVersion":"42","creationTimestamp":"x",
      "labels":{"app.kubernetes.io/managed-by":"kthw","extra":"y"},
      "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:kube-apiserver-to-kubelet"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"kubernetes"}]})";
  EXPECT_TRUE(rbacSemanticallyEqual(desired(), observed));
  std::string noGroup = desired();
  noGroup.replace(noGroup.find(R"("apiGroup":"rbac.authorization.k8s.io","kind":"User")"),
                  std::string(R"("apiGroup":"rbac.authorization.k8s.io",)").size(), "");
  EXPECT_TRUE(rbacSemanticallyEqual(noGroup, observed));
}

TEST(RbacReconciler, SeesChangedSubjectsRoleRefAndMissingLabel) {
  const std::string base =
      R"({"metadata":{"name":"system:kube-apiserver","labels":{"app.kubernetes.io/managed-by":"kthw"}},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:kube-apiserver-to-kubelet"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"kubernetes"}]})";
  EXPECT_TRUE(rbacSemanticallyEqual(desired(), base));
  std::string otherUser = base;
  otherUser.replace(otherUser.rfind("kubernetes"), 10, "someone");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), otherUser));
  std::string otherRole = base;
  otherRole.replace(otherRole.find("system:kube-apiserver-to-kubelet"), 32, "cluster-admin");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), otherRole));
  std::string unlabelled = base;
  unlabelled.replace(unlabelled.find(R"("app.kubernetes.io/managed-by":"kthw")"), 36, "");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), unlabelled));
}

TEST(RbacReconciler, ShowsObjectsAsYaml) {
  EXPECT_EQ(
      jsonToYaml(
          R"({"metadata":{"name":"x","uid":"1"},"rules":[{"verbs":["*"],"resources":["nodes/proxy"]}]})"),
      "metadata:\n  name: x\nrules:\n  - verbs:\n      - \"*\"\n    resources:\n      - "
      "nodes/proxy\n");
}

}  // namespace
}  // namespace kthw::reconcilers
