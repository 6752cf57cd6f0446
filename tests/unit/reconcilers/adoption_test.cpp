#include "reconcilers/adoption.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../resources/test_util.h"
#include "reconcilers/bundle_files.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;
using Outcome = AdoptionItem::Outcome;

const char* kBundle = R"(---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: kubernetes, issuer: ca, commonName: kubernetes, usages: [server, client], ipAddresses: ["10.32.0.1"]}
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  keyPairs: [{name: service-account}]
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  encryptionConfigs: [{name: encryption-config}]
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/ca-key.pem, hosts: {selector: {role: controller}}, content: {key: ca}}
    - {path: /var/lib/kubernetes/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /var/lib/kubernetes/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /root/admin.pem, hosts: {names: [controller-0]}, content: {certificate: admin}}
    - {path: /root/admin-key.pem, hosts: {names: [controller-0]}, content: {key: admin}}
    - {path: /root/admin.kubeconfig, hosts: {names: [controller-0]}, content: {kubeconfig: admin}}
    - {path: /var/lib/kubernetes/sa.key, hosts: {selector: {role: controller}}, content: {key: service-account}}
    - {path: /var/lib/kubernetes/sa.pub, hosts: {selector: {role: controller}}, content: {publicKey: service-account}}
    - {path: /var/lib/kubernetes/encryption-config.yaml, hosts: {selector: {role: controller}}, content: {encryptionConfig: encryption-config}}
)";

class AdoptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kBundle);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    built_ = openStore("built");
    hosts_ = filesOnHosts(*built_);
    target_ = openStore("target");
  }

  const resources::CertificateBundle& bundle() const { return loaded_.state.bundles.at(0); }

  std::unique_ptr<runtime::SecretStore> openStore(const std::string& name) {
    const std::string dir = ::testing::TempDir() + "/kthw-adopt-" + name + "-" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    auto store = runtime::SecretStore::open(dir, runtime::SecretStore::Mode::kWrite);
    EXPECT_TRUE(store.ok());
    return std::move(*store);
  }

  // What a cluster built from `store` has on its hosts: every file of the bundle, rendered.
  HostFileContents filesOnHosts(runtime::SecretStore& store) {
    auto m = prepareMaterial(loaded_.state, bundle(), &store, true, now_);
    EXPECT_TRUE(m.ok());
    HostFileContents out;
    for (const resources::Host& h : loaded_.state.hosts) {
      for (const BundleFileContent& f : bundleFilesFor(loaded_.state, bundle(), *m, h)) {
        out[h.name()][f.spec.path] = *f.content;
      }
    }
    return out;
  }

  Adoption adoptInto(runtime::SecretStore& store) {
    Adoption a = planAdoption(loaded_.state, bundle(), hosts_, &store);
    if (!a.refused()) {
      for (const auto& [path, content] : a.imports) EXPECT_TRUE(store.write(path, content).ok());
    }
    return a;
  }

  const AdoptionItem& item(const Adoption& a, const std::string& what) {
    for (const AdoptionItem& i : a.items) {
      if (i.what == what) return i;
    }
    ADD_FAILURE() << "no item " << what;
    static AdoptionItem none;
    return none;
  }

  resources::LoadOutcome loaded_;
  std::unique_ptr<runtime::SecretStore> built_;
  std::unique_ptr<runtime::SecretStore> target_;
  HostFileContents hosts_;
  const Clock::time_point now_ = Clock::now();
};

TEST_F(AdoptionTest, ImportsWhatTheHostsRunSoThatNothingIsReissued) {
  const Adoption a = adoptInto(*target_);
  ASSERT_FALSE(a.refused());
  for (const AdoptionItem& i : a.items) {
    EXPECT_EQ(i.outcome, Outcome::kImported) << i.what << ": " << i.detail;
  }
  EXPECT_EQ(item(a, "authority ca").material, Material::kPrecious);
  EXPECT_EQ(item(a, "certificate admin").material, Material::kDerivable);
  auto m = prepareMaterial(loaded_.state, bundle(), target_.get(), false, now_);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->reasons.empty()) << m->reasons.begin()->first << ": "
                                  << m->reasons.begin()->second;
  EXPECT_EQ(m->certificates.at("ca"), *built_->read("pki/authorities/ca.crt"));
  EXPECT_EQ(m->encryptionKeys.at("encryption-config").keys,
            prepareMaterial(loaded_.state, bundle(), built_.get(), false, now_)
                ->encryptionKeys.at("encryption-config")
                .keys);
  // Adopting again finds everything in the store: nothing to import.
  const Adoption again = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  EXPECT_TRUE(again.imports.empty());
  EXPECT_EQ(item(again, "authority ca").outcome, Outcome::kAlreadyStored);
  EXPECT_EQ(item(again, "encryption config encryption-config").outcome, Outcome::kAlreadyStored);
}

TEST_F(AdoptionTest, HostsThatRunTwoCasAreRefused) {
  auto other = openStore("other");
  const HostFileContents foreign = filesOnHosts(*other);
  hosts_["controller-1"]["/var/lib/kubernetes/ca.pem"] =
      foreign.at("controller-1").at("/var/lib/kubernetes/ca.pem");
  const Adoption a = adoptInto(*target_);
  ASSERT_TRUE(a.refused());
  const AdoptionItem& ca = item(a, "authority ca");
  EXPECT_EQ(ca.outcome, Outcome::kRefused);
  EXPECT_NE(ca.detail.find("differs across hosts"), std::string::npos) << ca.detail;
  EXPECT_NE(ca.detail.find("controller-1:/var/lib/kubernetes/ca.pem"), std::string::npos);
  EXPECT_FALSE(target_->read("pki/authorities/ca.crt").has_value());
}

TEST_F(AdoptionTest, AKeyThatIsNotTheCertificatesIsRefused) {
  auto other = openStore("other");
  hosts_["controller-0"]["/var/lib/kubernetes/ca-key.pem"] =
      filesOnHosts(*other).at("controller-0").at("/var/lib/kubernetes/ca-key.pem");
  const Adoption a = adoptInto(*target_);
  const AdoptionItem& ca = item(a, "authority ca");
  EXPECT_EQ(ca.outcome, Outcome::kRefused);
  EXPECT_NE(ca.detail.find("controller-0:/var/lib/kubernetes/ca-key.pem does not belong"),
            std::string::npos)
      << ca.detail;
}

TEST_F(AdoptionTest, AStoreWithAnotherCaIsNeverOverwritten) {
  filesOnHosts(*target_);  // the target store made its own CA
  const std::string before = *target_->read("pki/authorities/ca.crt");
  const Adoption a = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  EXPECT_EQ(item(a, "authority ca").outcome, Outcome::kRefused);
  EXPECT_NE(item(a, "authority ca").detail.find("pass --supersede"), std::string::npos)
      << item(a, "authority ca").detail;
  EXPECT_EQ(item(a, "key pair service-account").outcome, Outcome::kRefused);
  EXPECT_EQ(item(a, "encryption config encryption-config").outcome, Outcome::kRefused);
  EXPECT_TRUE(a.superseded.empty());
  EXPECT_EQ(*target_->read("pki/authorities/ca.crt"), before);
}

// An apply before adopt: the guard kept the hosts, but the store issued its own CA, leaves and
// keys. With --supersede those are set aside and the hosts' material adopted, leaves included.
TEST_F(AdoptionTest, SupersedeSetsAsideWhatNoHostRuns) {
  filesOnHosts(*target_);
  const Adoption a = planAdoption(loaded_.state, bundle(), hosts_, target_.get(), true);
  ASSERT_FALSE(a.refused());
  for (const char* what : {"authority ca", "key pair service-account",
                           "encryption config encryption-config", "certificate admin"}) {
    EXPECT_EQ(item(a, what).outcome, Outcome::kImported) << what << ": " << item(a, what).detail;
  }
  EXPECT_NE(item(a, "authority ca").detail.find("is set aside under superseded/"),
            std::string::npos);
  std::vector<std::string> aside = a.superseded;
  std::sort(aside.begin(), aside.end());
  EXPECT_EQ(aside, (std::vector<std::string>{"pki/authorities/ca.crt", "pki/authorities/ca.key",
                                             "pki/encryption/encryption-config.keys",
                                             "pki/keypairs/service-account.key"}));
  EXPECT_EQ(a.imports.at("pki/authorities/ca.crt"), *built_->read("pki/authorities/ca.crt"));
  EXPECT_EQ(a.imports.at("pki/certificates/admin.crt"),
            *built_->read("pki/certificates/admin.crt"));
}

TEST_F(AdoptionTest, AKeyPairWhosePublicHalfDiffersIsRefused) {
  auto other = openStore("other");
  hosts_["controller-1"]["/var/lib/kubernetes/sa.pub"] =
      filesOnHosts(*other).at("controller-1").at("/var/lib/kubernetes/sa.pub");
  const Adoption first = adoptInto(*target_);
  const AdoptionItem& sa = item(first, "key pair service-account");
  EXPECT_EQ(sa.outcome, Outcome::kRefused);
  EXPECT_NE(sa.detail.find("controller-1:/var/lib/kubernetes/sa.pub does not belong"),
            std::string::npos)
      << sa.detail;
  for (auto& [host, files] : hosts_) files.erase("/var/lib/kubernetes/sa.key");
  const Adoption second = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  const AdoptionItem& onlyPublic = item(second, "key pair service-account");
  EXPECT_EQ(onlyPublic.outcome, Outcome::kRefused);
  EXPECT_NE(onlyPublic.detail.find("only its public half"), std::string::npos);
}

TEST_F(AdoptionTest, ALeafOfAnotherAuthorityIsLeftForApplyToReissue) {
  auto other = openStore("other");
  const HostFileContents foreign = filesOnHosts(*other);
  for (const char* path : {"/root/admin.pem", "/root/admin-key.pem", "/root/admin.kubeconfig"}) {
    hosts_["controller-0"][path] = foreign.at("controller-0").at(path);
  }
  const Adoption a = adoptInto(*target_);
  ASSERT_FALSE(a.refused());
  EXPECT_EQ(item(a, "certificate admin").outcome, Outcome::kLeft);
  EXPECT_EQ(item(a, "certificate kubernetes").outcome, Outcome::kImported);
  auto m = prepareMaterial(loaded_.state, bundle(), target_.get(), false, now_);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->reasons.size(), 1u);
  EXPECT_EQ(m->reasons.begin()->first, "admin");
}

TEST_F(AdoptionTest, EncryptionConfigsAsTheSeedsWriteThem) {
  const char* seed = R"(kind: EncryptionConfiguration
apiVersion: apiserver.config.k8s.io/v1
resources:
  - resources:
      - secrets
    providers:
      - aescbc:
          keys:
            - name: key2
              secret: c2Vjb25kIGtleSBvZiAzMiBieXRlcyBmb3IgYWVzY2Jj
            - name: key1
              secret: Zmlyc3Qga2V5IG9mIDMyIGJ5dGVzIGZvciBhZXNjYmM=
      - identity: {}
)";
  auto keys = encryptionConfigProviderKeys(seed, "aescbc");
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].first, "key2");
  EXPECT_EQ((*keys)[1].second, "Zmlyc3Qga2V5IG9mIDMyIGJ5dGVzIGZvciBhZXNjYmM=");
  auto other = encryptionConfigProviderKeys(seed, "aesgcm");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("its providers are aescbc, identity"), std::string::npos);
  EXPECT_FALSE(encryptionConfigProviderKeys("kind: Secret\n", "aescbc").ok());
  EXPECT_FALSE(encryptionConfigProviderKeys("{{{", "aescbc").ok());

  for (auto& [host, files] : hosts_) files["/var/lib/kubernetes/encryption-config.yaml"] = seed;
  const Adoption a = adoptInto(*target_);
  ASSERT_FALSE(a.refused());
  auto m = prepareMaterial(loaded_.state, bundle(), target_.get(), false, now_);
  ASSERT_TRUE(m.ok());
  const EncryptionKeys& k = m->encryptionKeys.at("encryption-config");
  EXPECT_EQ(k.stage, "promoted");  // key2 encrypts, key1 still decrypts
  ASSERT_EQ(k.keys.size(), 2u);
  EXPECT_EQ(k.keys[0].first, 2);
  EXPECT_EQ(k.keys[1].first, 1);
  // The detail names keys by digest, never by value.
  EXPECT_EQ(item(a, "encryption config encryption-config").detail.find("c2Vjb25k"),
            std::string::npos);

  std::string renamed = seed;
  renamed.replace(renamed.find("key2"), 4, "mine");
  for (auto& [host, files] : hosts_) files["/var/lib/kubernetes/encryption-config.yaml"] = renamed;
  auto fresh = openStore("fresh");
  const Adoption third = planAdoption(loaded_.state, bundle(), hosts_, fresh.get());
  const AdoptionItem& refused = item(third, "encryption config encryption-config");
  EXPECT_EQ(refused.outcome, Outcome::kRefused);
  EXPECT_NE(refused.detail.find("names a key \"mine\""), std::string::npos) << refused.detail;
}

// Leaves that are only placed inside kubeconfigs (the controller-manager's, the scheduler's)
// are read from there.
TEST_F(AdoptionTest, ALeafFoundOnlyInAKubeconfigIsImported) {
  hosts_["controller-0"].erase("/root/admin.pem");
  hosts_["controller-0"].erase("/root/admin-key.pem");
  const Adoption a = adoptInto(*target_);
  ASSERT_FALSE(a.refused());
  EXPECT_EQ(item(a, "certificate admin").outcome, Outcome::kImported);
  EXPECT_EQ(item(a, "certificate admin").detail,
            "from controller-0:/root/admin.kubeconfig and controller-0:/root/admin.kubeconfig");
  EXPECT_EQ(a.imports.at("pki/certificates/admin.key"),
            *built_->read("pki/certificates/admin.key"));
  EXPECT_FALSE(kubeconfigCredentials("users: []\n").has_value());
  EXPECT_FALSE(kubeconfigCredentials("users: [{user: {client-certificate-data: 'a'}}]\n"));
  EXPECT_FALSE(kubeconfigCredentials("{{").has_value());
}

TEST_F(AdoptionTest, AKeyNameKthwWouldWriteBackOtherwiseIsRefused) {
  for (auto& [host, files] : hosts_) {
    std::string& config = files["/var/lib/kubernetes/encryption-config.yaml"];
    config.replace(config.find("name: key1"), 10, "name: key01");
  }
  const Adoption a = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  EXPECT_EQ(item(a, "encryption config encryption-config").outcome, Outcome::kRefused);
  EXPECT_NE(item(a, "encryption config encryption-config").detail.find("names a key \"key01\""),
            std::string::npos);
}

// One adopted key is a steady config: raising keyGeneration starts a rotation.
TEST_F(AdoptionTest, AnAdoptedKeyRotatesLikeKthwsOwn) {
  ASSERT_FALSE(adoptInto(*target_).refused());
  EXPECT_EQ(*target_->read("pki/encryption/encryption-config.deployed"), "steady");
  loaded_.state.bundles.at(0).encryptionConfigs.at(0).keyGeneration = 2;
  auto m = prepareMaterial(loaded_.state, bundle(), target_.get(), false, now_);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->reasons.at("encryption-config"), "rotation to key 2: added as second key");
}

// The seeds' service-account certificate: its key signs tokens, so adoption treats it as
// precious, and a store with another such key is never overwritten unless told.
class TokenCertificateAdoption : public AdoptionTest {
 protected:
  void SetUp() override {
    const std::string docs = std::string(resources::testing::kMinimalHosts) + R"(---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: pki}
spec:
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: service-account, issuer: ca, commonName: service-accounts, usages: [client]}
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/ca-key.pem, hosts: {selector: {role: controller}}, content: {key: ca}}
    - {path: /var/lib/kubernetes/service-account.pem, hosts: {selector: {role: controller}}, content: {certificate: service-account}}
    - {path: /var/lib/kubernetes/service-account-key.pem, hosts: {selector: {role: controller}}, content: {key: service-account}}
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
    loaded_ = resources::testing::loadText(docs);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    built_ = openStore("built");
    hosts_ = filesOnHosts(*built_);
    target_ = openStore("target");
  }
};

TEST_F(TokenCertificateAdoption, ItsKeyIsPreciousAndAnotherStoredOneIsNeverOverwritten) {
  {
    auto fresh = openStore("fresh");
    const Adoption a = adoptInto(*fresh);
    ASSERT_FALSE(a.refused());
    EXPECT_EQ(item(a, "certificate service-account").material, Material::kPrecious);
    EXPECT_NE(item(a, "certificate service-account").detail.find("signs service-account tokens"),
              std::string::npos);
  }
  // The target store holds the hosts' CA but a token key of its own.
  for (const char* f : {"pki/authorities/ca.crt", "pki/authorities/ca.key"}) {
    ASSERT_TRUE(target_->write(f, *built_->read(f)).ok());
  }
  auto own = prepareMaterial(loaded_.state, bundle(), target_.get(), true, now_);
  ASSERT_TRUE(own.ok());
  const std::string ownKey = *target_->read("pki/certificates/service-account.key");
  const Adoption refused = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  EXPECT_EQ(item(refused, "authority ca").outcome, Outcome::kAlreadyStored);
  EXPECT_EQ(item(refused, "certificate service-account").outcome, Outcome::kRefused);
  EXPECT_NE(item(refused, "certificate service-account").detail.find("pass --supersede"),
            std::string::npos);
  const Adoption aside = planAdoption(loaded_.state, bundle(), hosts_, target_.get(), true);
  ASSERT_FALSE(aside.refused());
  EXPECT_NE(std::find(aside.superseded.begin(), aside.superseded.end(),
                      "pki/certificates/service-account.key"),
            aside.superseded.end());
  EXPECT_EQ(aside.imports.at("pki/certificates/service-account.key"),
            *built_->read("pki/certificates/service-account.key"));
  EXPECT_NE(aside.imports.at("pki/certificates/service-account.key"), ownKey);
}

// A token certificate its authority did not sign: the key is adopted all the same, and apply
// reissues the certificate around it.
TEST_F(TokenCertificateAdoption, ACertificateOfAnotherCaKeepsItsKey) {
  auto other = openStore("other");
  hosts_["controller-0"]["/var/lib/kubernetes/service-account.pem"] =
      filesOnHosts(*other).at("controller-0").at("/var/lib/kubernetes/service-account.pem");
  hosts_["controller-1"]["/var/lib/kubernetes/service-account.pem"] =
      hosts_["controller-0"]["/var/lib/kubernetes/service-account.pem"];
  const std::string hostKey = hosts_["controller-0"]["/var/lib/kubernetes/service-account-key.pem"];
  for (auto& [host, files] : hosts_) files["/var/lib/kubernetes/service-account-key.pem"] = hostKey;
  hosts_["controller-0"]["/var/lib/kubernetes/service-account-key.pem"] =
      filesOnHosts(*other).at("controller-0").at("/var/lib/kubernetes/service-account-key.pem");
  // Keys that differ across hosts are refused.
  EXPECT_EQ(item(planAdoption(loaded_.state, bundle(), hosts_, target_.get()),
                 "certificate service-account")
                .outcome,
            Outcome::kRefused);
  hosts_["controller-0"]["/var/lib/kubernetes/service-account-key.pem"] = hostKey;
  const Adoption a = adoptInto(*target_);
  ASSERT_FALSE(a.refused());
  EXPECT_EQ(a.imports.at("pki/certificates/service-account.key"), hostKey);
  auto m = prepareMaterial(loaded_.state, bundle(), target_.get(), true, now_);
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->reasons.at("service-account").find("its key is kept"), std::string::npos)
      << m->reasons.at("service-account");
  EXPECT_EQ(m->keys.at("service-account").pem, hostKey);
}

TEST_F(AdoptionTest, NothingOnTheHostsIsNothingToImport) {
  hosts_.clear();
  const Adoption a = planAdoption(loaded_.state, bundle(), hosts_, target_.get());
  EXPECT_FALSE(a.refused());
  EXPECT_TRUE(a.imports.empty());
  EXPECT_EQ(item(a, "authority ca").outcome, Outcome::kNotFound);
}

}  // namespace
}  // namespace kthw::reconcilers
