#include "resources/desired_state.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kthw::resources {
namespace {

using testing::joinErrors;
using testing::loadExample;

TEST(DesiredState, LoadsTheHaClusterExample) {
  LoadOutcome o = loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  EXPECT_EQ(o.state.hosts.size(), 4u);
  EXPECT_EQ(o.state.services.size(), 4u);
  EXPECT_EQ(o.state.loadBalancers.size(), 1u);
  EXPECT_EQ(o.state.rbac.size(), 2u);
  ASSERT_EQ(o.state.bundles.size(), 1u);
  const Host* c0 = o.state.findHost("controller-0");
  ASSERT_NE(c0, nullptr);
  EXPECT_EQ(c0->internalIP, "10.0.1.10");
  EXPECT_EQ(c0->ssh.port, 22);  // defaulted from the CRD
  EXPECT_EQ(c0->ssh.hostKeyPolicy, HostKeyPolicy::kStrict);
  HostTarget controllers;
  controllers.selector = {{"role", "controller"}};
  EXPECT_EQ(o.state.select(controllers).size(), 3u);
}

TEST(DesiredState, ReadsRbacV1beta1AsV1WithAWarningAtTheApiVersion) {
  const std::string yaml = R"(apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRole
metadata: {name: r}
rules: [{apiGroups: [""], resources: [nodes/proxy], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRoleBinding
metadata: {name: b, namespace: ""}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kubernetes}]
)";
  LoadOutcome o = testing::loadText(yaml, "rbac.yaml");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  ASSERT_EQ(o.state.rbac.size(), 2u);
  for (const RbacObject& r : o.state.rbac) {
    EXPECT_EQ(r.document.str("apiVersion"), "rbac.authorization.k8s.io/v1") << r.kind;
  }
  const auto w = o.warningLines();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0],
            "rbac.yaml:1:13: warning: apiVersion: rbac.authorization.k8s.io/v1beta1 ClusterRole is "
            "deprecated in v1.17+, unavailable in v1.22+; use rbac.authorization.k8s.io/v1 "
            "ClusterRole; sent as rbac.authorization.k8s.io/v1, whose fields are the same");
  EXPECT_TRUE(
      w[1].starts_with("rbac.yaml:6:13: warning: apiVersion: "
                       "rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding is "
                       "deprecated"))
      << w[1];
}

TEST(DesiredState, ResolvesProxyJumpsToTheBastionToLogInTo) {
  const std::string yaml = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: lb-0}
spec: {address: 10.77.0.30, ssh: {user: ops, port: 2200, identityFile: /lb-key, hostKey: ssh-ed25519 AAAALB}}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: c0}
spec: {address: 10.77.0.10, ssh: {identityFile: /c0-key, proxyJump: {host: lb-0}}}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: c1}
spec:
  address: 10.77.0.11
  ssh:
    user: admin
    identityFile: /c1-key
    connectTimeoutSeconds: 3
    proxyJump: {address: "jump@bastion.example:2222", hostKey: ssh-ed25519 AAAAJ}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: c2}
spec: {address: 10.77.0.12, ssh: {user: admin, useAgent: true, proxyJump: {address: bastion.example, hostKey: ssh-ed25519 AAAAJ}}}
)";
  LoadOutcome o = testing::loadText(yaml, "hosts.yaml");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  // Through a Host: that Host's own address and credentials.
  const ProxyJump& j0 = *o.state.findHost("c0")->ssh.proxyJump;
  ASSERT_NE(j0.via, nullptr);
  EXPECT_EQ(j0.via->address, "10.77.0.30");
  EXPECT_EQ(j0.via->ssh.user, "ops");
  EXPECT_EQ(j0.via->ssh.port, 2200);
  EXPECT_EQ(j0.via->ssh.identityFile, "/lb-key");
  EXPECT_EQ(j0.via->ssh.hostKey, "ssh-ed25519 AAAALB");
  // Through an address: its user and port, the jumping host's credentials, the pinned key.
  const ProxyJump& j1 = *o.state.findHost("c1")->ssh.proxyJump;
  ASSERT_NE(j1.via, nullptr);
  EXPECT_EQ(j1.via->address, "bastion.example");
  EXPECT_EQ(j1.via->ssh.user, "jump");
  EXPECT_EQ(j1.via->ssh.port, 2222);
  EXPECT_EQ(j1.via->ssh.identityFile, "/c1-key");
  EXPECT_EQ(j1.via->ssh.connectTimeoutSeconds, 3);
  EXPECT_EQ(j1.via->ssh.hostKey, "ssh-ed25519 AAAAJ");
  EXPECT_FALSE(j1.via->ssh.proxyJump.has_value());
  const ProxyJump& j2 = *o.state.findHost("c2")->ssh.proxyJump;
  ASSERT_NE(j2.via, nullptr);
  EXPECT_EQ(j2.via->ssh.user, "admin");  // the jumping host's user when the address has none
  EXPECT_EQ(j2.via->ssh.port, 22);
  EXPECT_TRUE(j2.via->ssh.useAgent);
}

TEST(DesiredState, ChecksRbacV1beta1AgainstTheSchemaOfV1) {
  LoadOutcome o = testing::loadText(R"(apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRole
metadata: {name: r}
rules: [{resources: [nodes]}]
)",
                                    "rbac.yaml");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(joinErrors(o), "rbac.yaml:4:9: rules[0].verbs: required field is missing\n");
}

TEST(DesiredState, ParsesServicesInFlagOrder) {
  LoadOutcome o = loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  const ControlPlaneService* api = nullptr;
  for (const auto& s : o.state.services) {
    if (s.component == "kube-apiserver") api = &s;
  }
  ASSERT_NE(api, nullptr);
  ASSERT_FALSE(api->flags.empty());
  EXPECT_EQ(api->flags.front().name, "advertise-address");
  EXPECT_EQ(api->flags.front().value.value, "${host.internalIP}");
  EXPECT_EQ(api->flags.back().name, "v");
  EXPECT_EQ(api->unit.name, "kube-apiserver.service");
}

TEST(DesiredState, ParsesCertificateBundles) {
  LoadOutcome o = loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  const CertificateBundle& b = o.state.bundles.front();
  const Certificate* kubernetes = nullptr;
  for (const auto& c : b.certificates) {
    if (c.name == "kubernetes") kubernetes = &c;
  }
  ASSERT_NE(kubernetes, nullptr);
  EXPECT_TRUE(kubernetes->serverAuth);
  EXPECT_GT(kubernetes->validity.count(), kubernetes->renewBefore.count());
  bool keyFileIsPrivate = false;
  for (const auto& f : b.files) {
    if (f.kind == ContentKind::kKey) keyFileIsPrivate = f.attributes.mode == 0600;
  }
  EXPECT_TRUE(keyFileIsPrivate);
}

TEST(DesiredState, LoadsTheSingleNodeExample) {
  LoadOutcome o = loadExample("single-node");
  ASSERT_TRUE(o.ok()) << joinErrors(o);
  ASSERT_EQ(o.state.hosts.size(), 1u);
  EXPECT_FALSE(o.state.hosts[0].kernelModules.empty());
  EXPECT_FALSE(o.state.hosts[0].sysctls.empty());
  EXPECT_EQ(o.state.bundles.at(0).certificates.at(0).keyAlgorithm, KeyAlgorithm::kEcdsaP521);
}

}  // namespace
}  // namespace kthw::resources
