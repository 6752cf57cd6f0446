// The invariants the loader fuzzer checks on what it renders (tests/fuzz/render_invariants.h)
// hold for the examples and for hostile values, and do report a unit or a document whose
// structure was changed: a fuzzer whose checks cannot fail would prove nothing.
#include <gtest/gtest.h>

#include "../../fuzz/render_invariants.h"
#include "../resources/test_util.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/unit_renderer.h"

namespace kthw::fuzz {
namespace {

const char* kService = R"(---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata:
  name: etcd
spec:
  component: etcd
  hosts: {names: [controller-0]}
  binary: {path: "/opt/etcd dir/etcd"}
  unit:
    description: '100% etcd "quoted" \ ; # not a comment'
    after: [network-online.target]
    environment:
      GREETING: 'a $HOME "b" %i \ c'
  flags:
    name: ${host.name}
    data-dir: "/var/lib/etcd; rm -rf /"
    quoted: 'say "hi" \n $PATH %h'
    empty: ""
    debug: null
  args: [";", "", "ExecStartPre=/bin/sh"]
)";

struct Unit {
  resources::ControlPlaneService service;
  std::string text;
};

Unit hostileUnit() {
  auto o = resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kService);
  EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  if (!o.ok()) return {};
  resources::Substituter sub(o.state);
  resources::Diagnostics d;
  auto unit =
      reconcilers::renderUnit(o.state.services.at(0), *o.state.findHost("controller-0"), sub, d);
  EXPECT_TRUE(unit) << (d.empty() ? "" : d[0].toString());
  return {o.state.services.at(0), unit.value_or("")};
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(FuzzInvariants, ExamplesRenderWithoutViolation) {
  for (const char* example : {"ha-cluster", "single-node"}) {
    auto o = resources::testing::loadExample(example);
    ASSERT_TRUE(o.ok()) << example << "\n" << resources::testing::joinErrors(o);
    ASSERT_FALSE(o.state.services.empty()) << example;
    EXPECT_EQ(renderViolation(o.state), "") << example;
  }
}

TEST(FuzzInvariants, HostileUnitHasNoViolation) {
  const Unit u = hostileUnit();
  EXPECT_EQ(unitViolation(u.text, u.service), "") << u.text;
}

TEST(FuzzInvariants, ReportsAnInjectedDirective) {
  const Unit u = hostileUnit();
  const std::string broken =
      replaced(u.text, "[Service]\n", "[Service]\nExecStartPre=/bin/sh -c id\n");
  EXPECT_NE(unitViolation(broken, u.service).find("ExecStartPre"), std::string::npos);
}

TEST(FuzzInvariants, ReportsASecondExecStart) {
  const Unit u = hostileUnit();
  const std::string broken = replaced(u.text, "Restart=", "ExecStart=/bin/sh\nRestart=");
  EXPECT_EQ(unitViolation(broken, u.service), "2 ExecStart= lines");
}

TEST(FuzzInvariants, ReportsAnExtraWordInTheCommandLine) {
  const Unit u = hostileUnit();
  const std::string broken = replaced(u.text, "--name=controller-0", "--name=controller-0 --x");
  EXPECT_NE(unitViolation(broken, u.service).find("words, expected"), std::string::npos);
}

// systemd drops a comment line inside a continuation: a flag written there would vanish.
TEST(FuzzInvariants, ReportsAFlagLostToACommentLine) {
  const Unit u = hostileUnit();
  const std::string broken = replaced(u.text, "  --name=", "  #--name=");
  EXPECT_NE(unitViolation(broken, u.service).find("words, expected"), std::string::npos);
}

TEST(FuzzInvariants, ReportsAFlagOutOfPlaceAndALoneSpecifier) {
  const Unit u = hostileUnit();
  EXPECT_NE(unitViolation(replaced(u.text, "--name=", "--nome="), u.service).find("flag name"),
            std::string::npos);
  EXPECT_NE(unitViolation(replaced(u.text, "100%%", "100%"), u.service).find("specifier"),
            std::string::npos);
}

const KubeconfigInputs kInputs{
    "true",   "https://10.0.0.1:6443\nusers: []", "system:node:a # b", "ca pem", "cert pem",
    "key pem"};

std::string kubeconfig(const KubeconfigInputs& in) {
  auto text = reconcilers::renderKubeconfig(in.cluster, in.server, in.user, in.caPem, in.certPem,
                                            in.keyPem);
  EXPECT_TRUE(text.ok()) << text.status().message();
  return text.ok() ? *text : "";
}

TEST(FuzzInvariants, HostileKubeconfigHasNoViolation) {
  const std::string text = kubeconfig(kInputs);
  EXPECT_EQ(kubeconfigViolation(text, kInputs), "") << text;
}

TEST(FuzzInvariants, ReportsAKubeconfigWithAnInjectedKey) {
  KubeconfigInputs in = kInputs;
  in.server = "https://10.0.0.1:6443";
  const std::string text = kubeconfig(in);
  const std::string broken =
      replaced(text, "server: https://10.0.0.1:6443",
               "server: https://10.0.0.1:6443\n      insecure-skip-tls-verify: true");
  EXPECT_EQ(kubeconfigViolation(broken, in),
            "clusters[0].cluster has key 'insecure-skip-tls-verify'")
      << broken;
  EXPECT_EQ(kubeconfigViolation(text + "extra: 1\n", in), "kubeconfig has key 'extra'");
}

TEST(FuzzInvariants, ReportsAKubeconfigValueThatChangedType) {
  KubeconfigInputs in = kInputs;
  in.cluster = "kubernetes";
  const std::string text = kubeconfig(in);
  const std::string broken = replaced(text, "name: kubernetes", "name: null");
  EXPECT_EQ(kubeconfigViolation(broken, in), "clusters[0].name is not a string") << broken;
}

TEST(FuzzInvariants, ReportsAnEncryptionConfigWithAnExtraProvider) {
  resources::EncryptionConfigSpec spec;
  spec.resources = {"secrets", "configmaps: x"};
  reconcilers::EncryptionKeys keys;
  keys.keys = {{1, "a2V5MQ=="}};
  auto text = reconcilers::renderEncryptionConfig(spec, keys);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(encryptionConfigViolation(*text, spec, keys), "") << *text;
  const std::string broken = replaced(*text, "- identity:", "- secretbox: {}\n      - identity:");
  EXPECT_EQ(encryptionConfigViolation(broken, spec, keys), "providers is not a sequence of two")
      << broken;
}

}  // namespace
}  // namespace kthw::fuzz
