#include "reconcilers/certificate_inventory.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/installed_certificates.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/bundle_material.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::hours;

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
    - {name: admin, issuer: ca, commonName: admin, subject: {organizations: ["system:masters"]}, usages: [client]}
  kubeconfigs:
    - {name: admin, certificate: admin, server: "https://127.0.0.1:6443"}
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /var/lib/kubernetes/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
    - {path: /var/lib/kubernetes/admin.pem, hosts: {names: [controller-0]}, content: {certificate: admin}}
    - {path: /root/admin.kubeconfig, hosts: {names: [controller-0]}, content: {kubeconfig: admin}}
)";

// A FakeHost that records what was fetched from it.
class RecordingHost : public testing::FakeHost {
 public:
  std::vector<std::string> fetched;
  StatusOr<std::map<std::string, std::string>> fetch(
      const std::vector<std::string>& paths) override {
    if (unreachable) return unavailable("fake host is down");
    fetched.insert(fetched.end(), paths.begin(), paths.end());
    return FakeHost::fetch(paths);
  }
};

class CertificateInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kBundle);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    dir_ = ::testing::TempDir() + "/kthw-inventory-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    auto store = runtime::SecretStore::open(dir_, runtime::SecretStore::Mode::kWrite);
    ASSERT_TRUE(store.ok());
    auto m = prepareMaterial(loaded_.state, bundle(), store->get(), true, now_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    material_ = *m;
    for (const std::string name : {"ca", "kubernetes", "admin"}) {
      stored_["pki"][name] = *storedCertificatePem(bundle(), **store, name);
    }
    // Each host has exactly what the store holds, keys and kubeconfig included.
    for (const auto& [name, host] : hosts_) {
      for (const auto& f :
           bundleFilesFor(loaded_.state, bundle(), material_, *loaded_.state.findHost(name))) {
        host->files[f.spec.path] = {*f.content, f.spec, false};
      }
    }
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  const resources::CertificateBundle& bundle() const { return loaded_.state.bundles.at(0); }

  CertificateInventory inventory(Clock::time_point now, const std::vector<std::string>& only = {}) {
    auto connect = [&](const resources::Host& h) { return hosts_.at(h.name()); };
    auto installed = engine::fetchInstalledCertificates(loaded_.state, only, connect, 4);
    return buildInventory(loaded_.state, stored_, installed, only, now);
  }

  static const CertificateEntry& entry(const CertificateInventory& inv, const std::string& name) {
    for (const auto& e : inv.entries) {
      if (e.name == name) return e;
    }
    throw std::runtime_error("no entry " + name);
  }

  // A certificate named like the store's, from a CA of the same name that is not the store's.
  std::string foreignCertificate(const std::string& commonName) const {
    auto caKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest ca;
    ca.commonName = "Kubernetes";
    ca.isCa = true;
    ca.validity = hours(24 * 365);
    auto caPem = runtime::issueCertificate(ca, *caKey, "", *caKey, now_);
    runtime::CertificateRequest leaf;
    leaf.commonName = commonName;
    leaf.serverAuth = true;
    leaf.validity = hours(24 * 365);
    return *runtime::issueCertificate(leaf, *caKey, *caPem, *caKey, now_);
  }

  resources::LoadOutcome loaded_;
  std::string dir_;
  BundleMaterial material_;
  StoredCertificates stored_;
  std::map<std::string, std::shared_ptr<RecordingHost>> hosts_ = {
      {"controller-0", std::make_shared<RecordingHost>()},
      {"controller-1", std::make_shared<RecordingHost>()}};
  const Clock::time_point now_ = Clock::from_time_t(1'800'000'000);
};

TEST_F(CertificateInventoryTest, EverythingInstalledAndValidHasNoFinding) {
  auto inv = inventory(now_);
  EXPECT_FALSE(inv.anyFinding());
  EXPECT_FALSE(inv.anyUnreachable());
  ASSERT_EQ(inv.entries.size(), 3u);
  EXPECT_EQ(inv.entries[0].name, "ca");  // authorities first
  EXPECT_TRUE(inv.entries[0].authority);
  EXPECT_EQ(inv.entries[0].renewBefore, kAuthorityRenewBefore);
  const CertificateEntry& kubernetes = entry(inv, "kubernetes");
  EXPECT_EQ(kubernetes.stored->daysLeft, 30);
  ASSERT_EQ(kubernetes.copies.size(), 2u);
  EXPECT_EQ(kubernetes.copies[0].host, "controller-0");
  EXPECT_EQ(kubernetes.copies[1].state, CopyState::kSame);
  EXPECT_EQ(entry(inv, "admin").copies.size(), 1u);  // only controller-0 gets admin.pem
  EXPECT_EQ(entryStatus(kubernetes), "valid");
}

TEST_F(CertificateInventoryTest, FetchesCertificateFilesOnlyNeverKeysOrKubeconfigs) {
  (void)inventory(now_);
  EXPECT_EQ(hosts_["controller-0"]->fetched,
            (std::vector<std::string>{"/var/lib/kubernetes/admin.pem", "/var/lib/kubernetes/ca.pem",
                                      "/var/lib/kubernetes/kubernetes.pem"}));
  EXPECT_EQ(hosts_["controller-1"]->fetched,
            (std::vector<std::string>{"/var/lib/kubernetes/ca.pem",
                                      "/var/lib/kubernetes/kubernetes.pem"}));
}

TEST_F(CertificateInventoryTest, CertificateNearExpiryIsRenewDueInTheStoreAndOnHosts) {
  auto inv = inventory(now_ + hours(24 * 29));  // 30-day certificate, 48h renewBefore
  const CertificateEntry& kubernetes = entry(inv, "kubernetes");
  EXPECT_EQ(kubernetes.stored->health, runtime::CertificateHealth::kRenewDue);
  EXPECT_EQ(entryStatus(kubernetes), "renew-due (expires within 2d)");
  EXPECT_TRUE(kubernetes.copies[0].finding());
  EXPECT_FALSE(entry(inv, "admin").finding());
  EXPECT_TRUE(inv.anyFinding());
  auto expired = inventory(now_ + hours(24 * 31));
  EXPECT_EQ(entry(expired, "kubernetes").stored->health, runtime::CertificateHealth::kExpired);
  EXPECT_EQ(entry(expired, "kubernetes").stored->daysLeft, -1);
}

TEST_F(CertificateInventoryTest, InstalledCertificateOfAnotherCaDiffersAndIsUntrusted) {
  hosts_["controller-1"]->files["/var/lib/kubernetes/kubernetes.pem"].content =
      foreignCertificate("kubernetes");
  auto inv = inventory(now_);
  const CertificateEntry& kubernetes = entry(inv, "kubernetes");
  EXPECT_FALSE(kubernetes.copies[0].finding());
  const InstalledCopy& foreign = kubernetes.copies[1];
  EXPECT_EQ(foreign.host, "controller-1");
  EXPECT_EQ(foreign.state, CopyState::kDiffers);
  EXPECT_EQ(foreign.check->health, runtime::CertificateHealth::kUntrusted);
  EXPECT_EQ(copyStatus(kubernetes, foreign)
                .rfind("differs from the store; untrusted: does not "
                       "chain to authority ca (",
                       0),
            0u)
      << copyStatus(kubernetes, foreign);
  EXPECT_TRUE(kubernetes.finding());
  EXPECT_FALSE(entry(inv, "admin").finding());
}

TEST_F(CertificateInventoryTest, AbsentUnreadableAndUnreachableCopies) {
  hosts_["controller-0"]->files.erase("/var/lib/kubernetes/admin.pem");
  hosts_["controller-0"]->files["/var/lib/kubernetes/ca.pem"].content = "not a certificate\n";
  hosts_["controller-1"]->unreachable = true;
  auto inv = inventory(now_);
  EXPECT_EQ(entry(inv, "admin").copies[0].state, CopyState::kAbsent);
  EXPECT_EQ(entry(inv, "ca").copies[0].state, CopyState::kUnreadable);
  const InstalledCopy& down = entry(inv, "ca").copies[1];
  EXPECT_EQ(down.state, CopyState::kUnreachable);
  EXPECT_FALSE(down.finding());  // unreachable is its own outcome, not a finding
  EXPECT_TRUE(inv.anyUnreachable());
  EXPECT_FALSE(inv.hosts.at("controller-1").ok());
}

TEST_F(CertificateInventoryTest, NothingInTheStoreMeansNotIssued) {
  stored_.clear();
  auto inv = inventory(now_);
  const CertificateEntry& admin = entry(inv, "admin");
  EXPECT_FALSE(admin.stored.has_value());
  EXPECT_EQ(entryStatus(admin), "not issued (run kthw apply first)");
  // What the host has no longer matches anything the store holds, and has no CA to chain to.
  EXPECT_EQ(admin.copies[0].state, CopyState::kDiffers);
  EXPECT_EQ(admin.copies[0].check->health, runtime::CertificateHealth::kUntrusted);
  EXPECT_TRUE(inv.anyFinding());
}

TEST_F(CertificateInventoryTest, HostFilterListsWhatIsPlacedThereAndReadsNoOtherHost) {
  auto inv = inventory(now_, {"controller-1"});
  ASSERT_EQ(inv.entries.size(), 2u);  // ca and kubernetes; admin.pem is on controller-0 only
  EXPECT_EQ(inv.entries[1].copies.size(), 1u);
  EXPECT_TRUE(hosts_["controller-0"]->fetched.empty());
  EXPECT_EQ(inv.hosts.count("controller-0"), 0u);
}

TEST_F(CertificateInventoryTest, JsonCarriesEveryFieldForMachines) {
  hosts_["controller-1"]->files["/var/lib/kubernetes/kubernetes.pem"].content =
      foreignCertificate("kubernetes");
  const std::string json = inventoryJson(inventory(now_));
  rapidjson::Document d;
  d.Parse(json.c_str());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_STREQ(d["now"].GetString(), "2027-01-15T08:00:00Z");
  ASSERT_EQ(d["certificates"].Size(), 3u);
  const auto& ca = d["certificates"][0];
  EXPECT_STREQ(ca["kind"].GetString(), "authority");
  EXPECT_EQ(ca["renewBeforeSeconds"].GetInt64(), 30 * 86400);
  const auto& k = d["certificates"][1];
  EXPECT_STREQ(k["bundle"].GetString(), "pki");
  EXPECT_STREQ(k["name"].GetString(), "kubernetes");
  EXPECT_STREQ(k["kind"].GetString(), "certificate");
  EXPECT_STREQ(k["authority"].GetString(), "ca");
  EXPECT_STREQ(k["stored"]["subject"].GetString(), "CN=kubernetes");
  EXPECT_STREQ(k["stored"]["issuer"].GetString(), "CN=Kubernetes");
  EXPECT_STREQ(k["stored"]["notAfter"].GetString(), "2027-02-14T08:00:00Z");
  EXPECT_EQ(k["stored"]["daysLeft"].GetInt64(), 30);
  EXPECT_STREQ(k["stored"]["health"].GetString(), "valid");
  EXPECT_TRUE(k["stored"]["chainsToAuthority"].GetBool());
  EXPECT_EQ(std::string(k["stored"]["sha256"].GetString()).size(), 95u);
  EXPECT_TRUE(k["finding"].GetBool());
  ASSERT_EQ(k["installed"].Size(), 2u);
  EXPECT_STREQ(k["installed"][0]["state"].GetString(), "same");
  EXPECT_FALSE(k["installed"][0]["finding"].GetBool());
  const auto& foreign = k["installed"][1];
  EXPECT_STREQ(foreign["host"].GetString(), "controller-1");
  EXPECT_STREQ(foreign["path"].GetString(), "/var/lib/kubernetes/kubernetes.pem");
  EXPECT_STREQ(foreign["state"].GetString(), "differs");
  EXPECT_STREQ(foreign["certificate"]["health"].GetString(), "untrusted");
  EXPECT_FALSE(foreign["certificate"]["chainsToAuthority"].GetBool());
  EXPECT_TRUE(foreign["finding"].GetBool());
  ASSERT_EQ(d["hosts"].Size(), 2u);
  EXPECT_TRUE(d["hosts"][0]["reachable"].GetBool());
  EXPECT_EQ(d["certificatesWithFindings"].GetUint64(), 1u);
  EXPECT_EQ(d["unreachableHosts"].GetUint64(), 0u);
}

TEST_F(CertificateInventoryTest, JsonOfANotIssuedCertificateHasNullStored) {
  stored_.clear();
  hosts_["controller-0"]->unreachable = true;
  hosts_["controller-1"]->unreachable = true;
  rapidjson::Document d;
  d.Parse(inventoryJson(inventory(now_)).c_str());
  ASSERT_FALSE(d.HasParseError());
  EXPECT_TRUE(d["certificates"][2]["stored"].IsNull());
  EXPECT_STREQ(d["certificates"][2]["status"].GetString(), "not issued (run kthw apply first)");
  EXPECT_TRUE(d["certificates"][2]["installed"][0]["certificate"].IsNull());
  EXPECT_STREQ(d["hosts"][0]["error"].GetString(), "fake host is down");
  EXPECT_EQ(d["unreachableHosts"].GetUint64(), 2u);
}

TEST_F(CertificateInventoryTest, ByHostCountsChainsAndFindsTheSoonestExpiry) {
  const auto byHost = certificatesByHost(inventory(now_));
  ASSERT_EQ(byHost.size(), 2u);
  EXPECT_EQ(byHost[0].host, "controller-0");
  EXPECT_EQ(byHost[0].installed, 3u);  // ca, kubernetes, admin
  EXPECT_EQ(byHost[0].chained, 3u);
  EXPECT_EQ(byHost[0].soonestDaysLeft, 30);  // kubernetes: validity 720h
  EXPECT_EQ(byHost[0].soonestPath, "/var/lib/kubernetes/kubernetes.pem");
  EXPECT_TRUE(byHost[0].findings.empty());
  EXPECT_EQ(byHost[1].installed, 2u);
}

TEST_F(CertificateInventoryTest, ByHostNamesEachFileThatDiffersOrIsDue) {
  hosts_["controller-1"]->files["/var/lib/kubernetes/kubernetes.pem"].content =
      foreignCertificate("kubernetes");
  hosts_["controller-0"]->files.erase("/var/lib/kubernetes/admin.pem");
  auto byHost = certificatesByHost(inventory(now_));
  ASSERT_EQ(byHost.size(), 2u);
  ASSERT_EQ(byHost[0].findings.size(), 1u);
  EXPECT_EQ(byHost[0].findings[0],
            "/var/lib/kubernetes/admin.pem: absent (kthw apply installs it)");
  EXPECT_EQ(byHost[0].installed, 2u);
  ASSERT_EQ(byHost[1].findings.size(), 1u);
  EXPECT_EQ(byHost[1].findings[0].rfind("/var/lib/kubernetes/kubernetes.pem: differs from the "
                                        "store; untrusted",
                                        0),
            0u)
      << byHost[1].findings[0];
  EXPECT_EQ(byHost[1].chained, 1u);  // ca.pem only
  // Within the kubernetes certificate's 48h renewBefore: due on both hosts.
  byHost = certificatesByHost(inventory(now_ + hours(24 * 29)));
  ASSERT_EQ(byHost[0].findings.size(), 2u);
  EXPECT_EQ(byHost[0].findings[0],
            "/var/lib/kubernetes/kubernetes.pem: renew-due (expires within 2d)");
  EXPECT_EQ(byHost[0].soonestDaysLeft, 1);
}

TEST_F(CertificateInventoryTest, ByHostKeepsAnUnreachableHostWithWhy) {
  hosts_["controller-1"]->unreachable = true;
  const auto byHost = certificatesByHost(inventory(now_));
  ASSERT_EQ(byHost.size(), 2u);
  EXPECT_TRUE(byHost[0].reach.ok());
  EXPECT_EQ(byHost[1].reach.message(), "fake host is down");
  EXPECT_EQ(byHost[1].installed, 0u);
  EXPECT_TRUE(byHost[1].findings.empty());
}

}  // namespace
}  // namespace kthw::reconcilers
