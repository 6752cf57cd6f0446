#include "reconcilers/bundle_material.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/host_pass.h"
#include "reconcilers/bundle_files.h"

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
      ipAddresses: ["10.32.0.1", "${hosts(role=controller).internalIP}"]
      validity: 720h
      renewBefore: 48h
    - name: admin
      issuer: ca
      commonName: admin
      subject: {organizations: ["system:masters"]}
      usages: [client]
      validity: 8760h
  keyPairs: [{name: service-account}]
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  encryptionConfigs: [{name: encryption-config}]
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /var/lib/kubernetes/admin.kubeconfig, hosts: {names: [controller-0]}, content: {kubeconfig: admin}}
    - {path: /var/lib/kubernetes/encryption-config.yaml, hosts: {names: [controller-0]}, content: {encryptionConfig: encryption-config}}
    - {path: /var/lib/kubernetes/sa.pub, hosts: {names: [controller-0]}, content: {publicKey: service-account}}
)";

class BundleMaterialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kBundle);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    dir_ = ::testing::TempDir() + "/kthw-material-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto store = runtime::SecretStore::open(dir_, runtime::SecretStore::Mode::kWrite);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
  }

  BundleMaterial prepare(bool generate, Clock::time_point now) {
    auto m =
        prepareMaterial(loaded_.state, loaded_.state.bundles.at(0), store_.get(), generate, now);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? *m : BundleMaterial{};
  }

  resources::LoadOutcome loaded_;
  std::string dir_;
  std::unique_ptr<runtime::SecretStore> store_;
  const Clock::time_point now_ = Clock::now();
};

TEST_F(BundleMaterialTest, IssuesOnceAndKeepsWhatIsValid) {
  BundleMaterial first = prepare(true, now_);
  EXPECT_EQ(first.reasons.size(), 5u);  // ca, kubernetes, admin, service-account, encryption
  EXPECT_TRUE(first.pending.empty());
  auto info = runtime::inspectCertificate(first.certificates.at("kubernetes"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ipAddresses, (std::vector<std::string>{"10.0.1.10", "10.0.1.11", "10.32.0.1"}));

  BundleMaterial second = prepare(true, now_);
  EXPECT_TRUE(second.reasons.empty());
  EXPECT_EQ(second.certificates.at("kubernetes"), first.certificates.at("kubernetes"));
  EXPECT_EQ(second.encryptionKeys.at("encryption-config").keys,
            first.encryptionKeys.at("encryption-config").keys);
}

TEST_F(BundleMaterialTest, ReadOnlyPassesGenerateNothing) {
  BundleMaterial m = prepare(false, now_);
  EXPECT_EQ(m.pending.size(), 5u);
  EXPECT_FALSE(store_->read("pki/authorities/ca.key").has_value());
}

TEST_F(BundleMaterialTest, StoredMaterialIsReadAsItIsWithoutJudging) {
  const auto& bundle = loaded_.state.bundles.at(0);
  EXPECT_FALSE(storedCertificatePem(bundle, *store_, "admin").has_value());
  BundleMaterial m = prepare(true, now_);
  EXPECT_EQ(storedCertificatePem(bundle, *store_, "ca"), m.certificates.at("ca"));
  EXPECT_EQ(storedCertificatePem(bundle, *store_, "admin"), m.certificates.at("admin"));
  EXPECT_EQ(storedPrivateKey(bundle, *store_, "admin")->pem, m.keys.at("admin").pem);
  // A spec change makes prepareMaterial want a reissue; what the store holds is still there.
  loaded_.state.bundles[0].certificates[1].subject.commonName = "root";
  EXPECT_TRUE(prepare(false, now_).pending.count("admin") != 0);
  EXPECT_EQ(storedCertificatePem(bundle, *store_, "admin"), m.certificates.at("admin"));
}

TEST_F(BundleMaterialTest, ReissuesExactlyTheCertificatesWithinRenewBefore) {
  (void)prepare(true, now_);
  // 29 days on: the 30-day kubernetes certificate is within its 48h renewBefore; admin is not.
  const auto later = now_ + std::chrono::hours(24 * 29);
  BundleMaterial renewed = prepare(true, later);
  ASSERT_EQ(renewed.reasons.size(), 1u);
  EXPECT_EQ(renewed.reasons.begin()->first, "kubernetes");
  EXPECT_NE(renewed.reasons.begin()->second.find("within renewBefore"), std::string::npos);
  EXPECT_TRUE(prepare(true, later).reasons.empty());  // and the pass after changes nothing
}

TEST_F(BundleMaterialTest, RenewalRedistributesExactlyTheRenewedFiles) {
  auto host = std::make_shared<testing::FakeHost>();
  auto connect = [&](const resources::Host&) { return host; };
  engine::PassOptions only;
  only.hosts = {"controller-0"};
  auto pass = [&](Clock::time_point now) {
    std::map<std::string, BundleMaterial> material = {{"pki", prepare(true, now)}};
    CertificateBundleReconciler reconciler(loaded_.state, material);
    host->actions.clear();
    return engine::applyHosts(loaded_.state, {&reconciler}, connect, only);
  };
  (void)pass(now_);
  const auto later = now_ + std::chrono::hours(24 * 29);
  auto renewed = pass(later);
  ASSERT_FALSE(renewed[0].failed());
  // Only the kubernetes key goes to controller-0 of the renewed certificate's files.
  EXPECT_EQ(host->actions,
            (std::vector<std::string>{"write /var/lib/kubernetes/kubernetes-key.pem"}));
  EXPECT_TRUE(pass(later)[0].plan.converged());
  EXPECT_TRUE(host->actions.empty());
}

TEST_F(BundleMaterialTest, RotatesTheEncryptionKeyInStages) {
  auto& spec = loaded_.state.bundles[0].encryptionConfigs[0];
  auto& bundle = loaded_.state.bundles[0];
  auto generations = [](const BundleMaterial& m) {
    std::vector<int> out;
    for (const auto& [g, key] : m.encryptionKeys.at("encryption-config").keys) out.push_back(g);
    return out;
  };
  BundleMaterial m = prepare(true, now_);
  ASSERT_TRUE(recordDistributed(bundle, m, *store_).ok());
  const std::string first = m.encryptionKeys.at("encryption-config").keys[0].second;

  spec.keyGeneration = 2;
  EXPECT_EQ(prepare(false, now_).pending.count("encryption-config"), 1u);  // diff: new key pending
  m = prepare(true, now_);
  EXPECT_EQ(m.reasons.at("encryption-config"), "rotation to key 2: added as second key");
  EXPECT_EQ(generations(m), (std::vector<int>{1, 2}));
  EXPECT_EQ(m.encryptionKeys.at("encryption-config").keys[0].second, first);
  // Not yet on every host: the next apply does not move on.
  EXPECT_TRUE(prepare(true, now_).reasons.empty());
  ASSERT_TRUE(recordDistributed(bundle, m, *store_).ok());

  m = prepare(true, now_);
  EXPECT_EQ(m.reasons.at("encryption-config"), "rotation to key 2: promoted to first key");
  EXPECT_EQ(generations(m), (std::vector<int>{2, 1}));
  const std::string rendered =
      renderEncryptionConfig(spec, m.encryptionKeys.at("encryption-config")).value();
  EXPECT_LT(rendered.find("name: key2"), rendered.find("name: key1"));
  ASSERT_TRUE(recordDistributed(bundle, m, *store_).ok());

  m = prepare(true, now_);
  EXPECT_TRUE(m.reasons.empty());
  ASSERT_EQ(m.problems.size(), 1u);
  EXPECT_NE(m.problems[0].find("rewrite the secrets, then set retirePreviousKey"),
            std::string::npos);

  spec.retirePreviousKey = true;
  m = prepare(true, now_);
  EXPECT_EQ(m.reasons.at("encryption-config"), "rotation to key 2: previous key removed");
  EXPECT_EQ(generations(m), (std::vector<int>{2}));
  ASSERT_TRUE(recordDistributed(bundle, m, *store_).ok());
  EXPECT_TRUE(prepare(true, now_).reasons.empty());
}

TEST_F(BundleMaterialTest, ReissuesWhenASanChanges) {
  (void)prepare(true, now_);
  loaded_.state.bundles[0].certificates[0].ipAddresses.push_back(
      resources::Text{"10.0.1.30", {}, "", "10.0.1.30"});
  BundleMaterial m = prepare(true, now_);
  ASSERT_EQ(m.reasons.size(), 1u);
  EXPECT_EQ(m.reasons.at("kubernetes"),
            "IP SANs 10.0.1.10,10.0.1.11,10.32.0.1, want 10.0.1.10,10.0.1.11,10.0.1.30,10.32.0.1");
}

TEST_F(BundleMaterialTest, ReissuesLeavesNotSignedByTheCurrentAuthority) {
  (void)prepare(true, now_);
  // Another CA appears in the store (as after a deliberate rotation).
  auto otherKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
  runtime::CertificateRequest r;
  r.commonName = "Kubernetes";
  r.isCa = true;
  r.validity = std::chrono::hours(24 * 3650);
  auto otherCa = runtime::issueCertificate(r, *otherKey, "", *otherKey, now_);
  ASSERT_TRUE(store_->write("pki/authorities/ca.crt", *otherCa).ok());
  ASSERT_TRUE(store_->write("pki/authorities/ca.key", otherKey->pem).ok());
  BundleMaterial m = prepare(true, now_);
  EXPECT_EQ(m.reasons.at("kubernetes"), "not signed by the current authority ca");
  EXPECT_EQ(m.reasons.at("admin"), "not signed by the current authority ca");
  EXPECT_TRUE(runtime::signedBy(m.certificates.at("admin"), *otherCa));
}

TEST_F(BundleMaterialTest, NeverRotatesACaSilently) {
  (void)prepare(true, now_);
  const std::string ca = *store_->read("pki/authorities/ca.crt");
  BundleMaterial late = prepare(true, now_ + std::chrono::hours(24 * 3640));
  EXPECT_EQ(*store_->read("pki/authorities/ca.crt"), ca);
  ASSERT_FALSE(late.problems.empty());
  EXPECT_NE(late.problems[0].find("authority ca expires on"), std::string::npos);
}

TEST_F(BundleMaterialTest, DistributesFilesAndASecondPassWritesNothing) {
  std::map<std::string, BundleMaterial> material = {{"pki", prepare(true, now_)}};
  CertificateBundleReconciler reconciler(loaded_.state, material);
  auto host = std::make_shared<testing::FakeHost>();
  const std::vector<const HostScopedReconciler*> reconcilers = {&reconciler};
  engine::PassOptions only;
  only.hosts = {"controller-0"};
  auto connect = [&](const resources::Host&) { return host; };
  auto first = engine::applyHosts(loaded_.state, reconcilers, connect, only);
  ASSERT_FALSE(first[0].failed());
  EXPECT_EQ(host->actions.size(), 5u);
  EXPECT_EQ(host->files.at("/var/lib/kubernetes/kubernetes-key.pem").spec.mode, 0600u);
  EXPECT_EQ(host->files.at("/var/lib/kubernetes/admin.kubeconfig").spec.mode, 0600u);
  EXPECT_EQ(host->files.at("/var/lib/kubernetes/ca.pem").spec.mode, 0644u);
  EXPECT_NE(host->files.at("/var/lib/kubernetes/encryption-config.yaml")
                .content.find("kind: EncryptionConfiguration"),
            std::string::npos);
  for (const Action& a : first[0].plan.actions) {
    EXPECT_EQ(a.diff.find("PRIVATE KEY"), std::string::npos) << a.diff;
    EXPECT_EQ(a.summary.find("PRIVATE KEY"), std::string::npos);
  }
  host->actions.clear();
  auto second = engine::applyHosts(loaded_.state, reconcilers, connect, only);
  EXPECT_TRUE(second[0].plan.converged());
  EXPECT_TRUE(host->actions.empty());
  // A key file made world-readable by hand is drift.
  host->files.at("/var/lib/kubernetes/kubernetes-key.pem").spec.mode = 0644;
  auto drift = engine::planHosts(loaded_.state, reconcilers, connect, only);
  ASSERT_EQ(drift[0].plan.actions.size(), 1u);
  EXPECT_EQ(drift[0].plan.actions[0].reason, "owner or mode root:root 0644");
}

// The seeds' service-account certificate: the API server verifies tokens with it and signs them
// with its key. A renewal keeps the key, so the tokens the cluster issued stay valid, and the key
// is precious on the hosts; the certificate itself is derived from it.
TEST(ServiceAccountCertificate, ARenewalKeepsTheKeyThatSignsTokens) {
  const char* docs = R"(---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: service-account, issuer: ca, commonName: service-accounts, usages: [client], validity: 720h, renewBefore: 48h}
    - {name: admin, issuer: ca, commonName: admin, usages: [client], validity: 720h, renewBefore: 48h}
  files:
    - {path: /var/lib/kubernetes/service-account.pem, hosts: {selector: {role: controller}}, content: {certificate: service-account}}
    - {path: /var/lib/kubernetes/service-account-key.pem, hosts: {selector: {role: controller}}, content: {key: service-account}}
    - {path: /var/lib/kubernetes/admin.pem, hosts: {selector: {role: controller}}, content: {certificate: admin}}
    - {path: /var/lib/kubernetes/admin-key.pem, hosts: {selector: {role: controller}}, content: {key: admin}}
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-apiserver}
spec:
  component: kube-apiserver
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-apiserver}
  flags:
    service-account-key-file: /var/lib/kubernetes/service-account.pem
    service-account-signing-key-file: /var/lib/kubernetes/service-account-key.pem
)";
  auto loaded = resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + docs);
  ASSERT_TRUE(loaded.ok()) << resources::testing::joinErrors(loaded);
  const auto& b = loaded.state.bundles.at(0);
  EXPECT_TRUE(signsServiceAccountTokens(loaded.state, b, "service-account"));
  EXPECT_FALSE(signsServiceAccountTokens(loaded.state, b, "admin"));
  std::map<std::string, Material> got;
  for (const auto& f : b.files) got[f.path] = materialOf(loaded.state, b, f);
  EXPECT_EQ(got.at("/var/lib/kubernetes/service-account-key.pem"), Material::kPrecious);
  EXPECT_EQ(got.at("/var/lib/kubernetes/service-account.pem"), Material::kDerivable);
  EXPECT_EQ(got.at("/var/lib/kubernetes/admin-key.pem"), Material::kDerivable);

  const std::string dir = ::testing::TempDir() + "/kthw-material-sa-renewal";
  std::filesystem::remove_all(dir);
  auto store = runtime::SecretStore::open(dir, runtime::SecretStore::Mode::kWrite);
  ASSERT_TRUE(store.ok());
  const auto now = Clock::now();
  auto first = prepareMaterial(loaded.state, b, store->get(), true, now);
  ASSERT_TRUE(first.ok());
  // 700 hours later both leaves are within renewBefore.
  auto later = prepareMaterial(loaded.state, b, store->get(), true, now + std::chrono::hours(700));
  ASSERT_TRUE(later.ok());
  EXPECT_NE(later->reasons.at("service-account").find("its key is kept"), std::string::npos)
      << later->reasons.at("service-account");
  EXPECT_NE(later->certificates.at("service-account"), first->certificates.at("service-account"));
  EXPECT_EQ(later->keys.at("service-account").pem, first->keys.at("service-account").pem);
  EXPECT_TRUE(runtime::keyMatches(later->certificates.at("service-account"),
                                  later->keys.at("service-account")));
  EXPECT_NE(later->keys.at("admin").pem, first->keys.at("admin").pem);
}

}  // namespace
}  // namespace kthw::reconcilers
