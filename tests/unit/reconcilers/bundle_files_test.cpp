#include "reconcilers/bundle_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/host_pass.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;

const char* kBundle = R"(---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - name: kubernetes
      issuer: ca
      commonName: kubernetes
      usages: [server, client]
      validity: 720h
      renewBefore: 48h
    - name: admin
      issuer: ca
      commonName: admin
      usages: [client]
      validity: 8760h
  keyPairs: [{name: service-account}]
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  encryptionConfigs: [{name: encryption-config}]
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/ca-key.pem, hosts: {selector: {role: controller}}, content: {key: ca}}
    - {path: /var/lib/kubernetes/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /var/lib/kubernetes/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /var/lib/kubernetes/admin.kubeconfig, hosts: {selector: {role: controller}}, content: {kubeconfig: admin}}
    - {path: /var/lib/kubernetes/encryption-config.yaml, hosts: {selector: {role: controller}}, content: {encryptionConfig: encryption-config}}
    - {path: /var/lib/kubernetes/sa.pub, hosts: {selector: {role: controller}}, content: {publicKey: service-account}}
    - {path: /var/lib/kubernetes/sa.key, hosts: {selector: {role: controller}}, content: {key: service-account}}
)";

constexpr const char* kCa = "/var/lib/kubernetes/ca.pem";
constexpr const char* kLeafKey = "/var/lib/kubernetes/kubernetes-key.pem";
constexpr const char* kEncryption = "/var/lib/kubernetes/encryption-config.yaml";

class BundleGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kBundle);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    dir_ = ::testing::TempDir() + "/kthw-guard-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto store = runtime::SecretStore::open(dir_, runtime::SecretStore::Mode::kWrite);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    hosts_["controller-0"] = std::make_shared<testing::FakeHost>();
    hosts_["controller-1"] = std::make_shared<testing::FakeHost>();
  }

  // One pass over both hosts; the material is prepared as apply (or diff) prepares it.
  std::vector<engine::HostOutcome> pass(bool apply) {
    auto m = prepareMaterial(loaded_.state, bundle(), store_.get(), apply, now_);
    EXPECT_TRUE(m.ok()) << m.status().message();
    material_ = {{"pki", m.ok() ? *m : BundleMaterial{}}};
    CertificateBundleReconciler reconciler(loaded_.state, material_);
    for (auto& [name, host] : hosts_) host->actions.clear();
    auto connect = [&](const resources::Host& h) { return hosts_.at(h.name()); };
    return apply ? engine::applyHosts(loaded_.state, {&reconciler}, connect, engine::PassOptions{})
                 : engine::planHosts(loaded_.state, {&reconciler}, connect, engine::PassOptions{});
  }

  // An apply after which the store records the rotation stage as deployed, as apply does when
  // every host was reached.
  std::vector<engine::HostOutcome> applyAndRecord() {
    auto out = pass(true);
    EXPECT_TRUE(recordDistributed(bundle(), material_.at("pki"), *store_).ok());
    return out;
  }

  static const engine::HostOutcome& on(const std::vector<engine::HostOutcome>& outcomes,
                                       const std::string& host) {
    return *std::find_if(outcomes.begin(), outcomes.end(),
                         [&](const engine::HostOutcome& o) { return o.host->name() == host; });
  }

  resources::CertificateBundle& bundle() { return loaded_.state.bundles.at(0); }
  testing::FakeHost& host(const std::string& name) { return *hosts_.at(name); }

  resources::LoadOutcome loaded_;
  std::string dir_;
  std::unique_ptr<runtime::SecretStore> store_;
  std::map<std::string, BundleMaterial> material_;
  std::map<std::string, std::shared_ptr<testing::FakeHost>> hosts_;
  const Clock::time_point now_ = Clock::now();
};

TEST(MaterialOf, AuthoritiesKeyPairsAndEncryptionConfigsArePrecious) {
  auto loaded =
      resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kBundle);
  ASSERT_TRUE(loaded.ok()) << resources::testing::joinErrors(loaded);
  const auto& b = loaded.state.bundles.at(0);
  std::map<std::string, Material> got;
  for (const auto& f : b.files) got[f.path] = materialOf(loaded.state, b, f);
  const std::string d = "/var/lib/kubernetes/";
  EXPECT_EQ(got, (std::map<std::string, Material>{
                     {d + "ca.pem", Material::kPrecious},
                     {d + "ca-key.pem", Material::kPrecious},
                     {d + "kubernetes-key.pem", Material::kDerivable},
                     {d + "kubernetes.pem", Material::kDerivable},
                     {d + "admin.kubeconfig", Material::kDerivable},
                     {d + "encryption-config.yaml", Material::kPrecious},
                     {d + "sa.pub", Material::kPrecious},
                     {d + "sa.key", Material::kPrecious},
                 }));
}

TEST(EncryptionConfigKeys, ReadsYamlAndJsonAndRefusesWhatItCannotRead) {
  resources::EncryptionConfigSpec spec;
  spec.resources = {"secrets"};
  EncryptionKeys keys;
  keys.keys = {{2, "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleSE="}, {1, "b2xkLw+="}};
  EXPECT_EQ(encryptionConfigKeys(renderEncryptionConfig(spec, keys).value()),
            (std::vector<std::string>{keys.keys[0].second, keys.keys[1].second}));
  EXPECT_EQ(encryptionConfigKeys(R"({"resources": ["secrets"], "providers": [{"secretbox": )"
                                 R"({"keys": [{"name": "secret", "secret": "QUJD"}]}}]})"),
            (std::vector<std::string>{"QUJD"}));
  EXPECT_FALSE(encryptionConfigKeys("keys:\n  - name: k\n    secret: |\n      QUJD\n"));
  EXPECT_EQ(encryptionConfigKeys("resources: [secrets]\nproviders: [{identity: {}}]\n"),
            std::vector<std::string>{});
}

TEST_F(BundleGuard, AbsentPreciousFilesAreWrittenAndASecondPassWritesNothing) {
  auto first = pass(true);
  for (const char* name : {"controller-0", "controller-1"}) {
    EXPECT_TRUE(on(first, name).plan.problems.empty()) << on(first, name).plan.problems[0];
    EXPECT_EQ(host(name).actions.size(), 8u) << name;
    EXPECT_EQ(host(name).files.at(kCa).content, *store_->read("pki/authorities/ca.crt"));
  }
  auto second = pass(true);
  EXPECT_TRUE(on(second, "controller-0").plan.converged());
  EXPECT_TRUE(on(second, "controller-1").plan.converged());
}

TEST_F(BundleGuard, AForeignCaIsAProblemAndNoFileOfTheBundleIsWrittenOnThatHost) {
  (void)pass(true);
  const std::string foreign = "-----BEGIN CERTIFICATE-----\nforeign\n-----END CERTIFICATE-----\n";
  host("controller-1").files.at(kCa).content = foreign;
  host("controller-0").files.erase(kLeafKey);
  host("controller-1").files.erase(kLeafKey);

  auto diff = pass(false);
  const HostPlan& refused = on(diff, "controller-1").plan;
  ASSERT_EQ(refused.problems.size(), 1u);
  EXPECT_EQ(refused.problems[0],
            "CertificateBundle/pki: controller-1: the certificate of authority ca at "
            "/var/lib/kubernetes/ca.pem on this host (sha256 " +
                runtime::sha256Hex(foreign).substr(0, 12) +
                ") is not in this secret store; adopt it with kthw adopt -f PATH (it imports what "
                "the hosts run), or remove it by hand. This bundle's files on this host are left "
                "as they are");
  EXPECT_TRUE(refused.actions.empty());
  EXPECT_EQ(refused.guarded, std::vector<std::string>{"CertificateBundle/pki"});
  EXPECT_TRUE(on(diff, "controller-0").plan.guarded.empty());

  auto apply = pass(true);
  EXPECT_TRUE(host("controller-1").actions.empty());
  EXPECT_EQ(host("controller-1").files.at(kCa).content, foreign);
  EXPECT_EQ(host("controller-1").files.count(kLeafKey), 0u);
  EXPECT_FALSE(on(apply, "controller-1").plan.problems.empty());
  // The other host of the same pass goes on.
  EXPECT_TRUE(on(apply, "controller-0").plan.problems.empty());
  EXPECT_EQ(host("controller-0").actions,
            (std::vector<std::string>{"write " + std::string(kLeafKey)}));

  // Removed by hand, the CA is installed again from the store.
  host("controller-1").files.erase(kCa);
  (void)pass(true);
  EXPECT_EQ(host("controller-1").files.at(kCa).content, *store_->read("pki/authorities/ca.crt"));
  EXPECT_TRUE(on(pass(true), "controller-1").plan.converged());
}

TEST_F(BundleGuard, ACaOnAHostBeforeTheStoreHasOneIsRefused) {
  host("controller-0").files[kCa].content = "a CA from elsewhere\n";
  auto diff = pass(false);
  ASSERT_EQ(on(diff, "controller-0").plan.problems.size(), 1u);
  EXPECT_NE(on(diff, "controller-0").plan.problems[0].find("is not in this secret store"),
            std::string::npos);
  EXPECT_TRUE(on(diff, "controller-0").plan.actions.empty());
  EXPECT_TRUE(on(diff, "controller-1").plan.problems.empty());
  EXPECT_FALSE(on(diff, "controller-1").plan.actions.empty());
}

TEST_F(BundleGuard, APreciousFileWithTheStoresContentButAnotherModeGetsItsModeFixed) {
  (void)pass(true);
  host("controller-0").files.at(kCa).spec.mode = 0600;
  host("controller-0").files.at("/var/lib/kubernetes/sa.key").spec.mode = 0644;
  auto out = pass(true);
  EXPECT_TRUE(on(out, "controller-0").plan.problems.empty());
  EXPECT_EQ(host("controller-0").actions,
            (std::vector<std::string>{"write /var/lib/kubernetes/ca.pem",
                                      "write /var/lib/kubernetes/sa.key"}));
  EXPECT_EQ(host("controller-0").files.at(kCa).spec.mode, 0644u);
}

TEST_F(BundleGuard, KthwsOwnEncryptionKeyRotationIsNeverBlocked) {
  (void)applyAndRecord();
  auto& spec = bundle().encryptionConfigs[0];
  auto rotateStep = [&](const std::string& why) {
    auto out = applyAndRecord();
    for (const char* name : {"controller-0", "controller-1"}) {
      EXPECT_TRUE(on(out, name).plan.problems.empty())
          << why << ": " << on(out, name).plan.problems[0];
      EXPECT_EQ(host(name).actions, (std::vector<std::string>{"write " + std::string(kEncryption)}))
          << why;
    }
  };
  spec.keyGeneration = 2;
  // diff: the new key is to be issued; the host's config holds only keys the store created.
  auto diff = pass(false);
  EXPECT_TRUE(on(diff, "controller-1").plan.problems.empty())
      << on(diff, "controller-1").plan.problems[0];
  EXPECT_TRUE(on(diff, "controller-1").plan.guarded.empty());
  rotateStep("added");
  rotateStep("promoted");
  spec.retirePreviousKey = true;
  rotateStep("retired");
  // A change of the config's layout keeps the keys: rewritten too.
  spec.resources.push_back("configmaps");
  rotateStep("resources");
}

TEST_F(BundleGuard, AnEncryptionConfigWithAKeyTheStoreDidNotCreateIsNeverOverwritten) {
  (void)applyAndRecord();
  const std::string& ours =
      material_.at("pki").encryptionKeys.at("encryption-config").keys[0].second;
  const std::string foreign =
      "kind: EncryptionConfiguration\napiVersion: apiserver.config.k8s.io/v1\nresources:\n"
      "  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n"
      "            - {name: key9, secret: Zm9yZWlnbi1rZXktZm9yZWlnbi1rZXktZm9yZWlnbiE=}\n"
      "            - {name: key1, secret: " +
      ours + "}\n";
  host("controller-1").files.at(kEncryption).content = foreign;
  auto out = pass(true);
  ASSERT_EQ(on(out, "controller-1").plan.problems.size(), 1u);
  EXPECT_NE(on(out, "controller-1")
                .plan.problems[0]
                .find("the encryption config encryption-config at " + std::string(kEncryption) +
                      " on this host (sha256 " + runtime::sha256Hex(foreign).substr(0, 12) +
                      ") holds a key that is not in this secret store"),
            std::string::npos)
      << on(out, "controller-1").plan.problems[0];
  EXPECT_TRUE(host("controller-1").actions.empty());
  EXPECT_EQ(host("controller-1").files.at(kEncryption).content, foreign);
  EXPECT_TRUE(on(out, "controller-0").plan.converged());
}

}  // namespace
}  // namespace kthw::reconcilers
