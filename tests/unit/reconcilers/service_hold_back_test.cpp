// A service that reads a file the guard leaves as it is on a host is held back there.
#include "reconcilers/service_hold_back.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/conditions.h"
#include "engine/host_pass.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/control_plane_service_reconciler.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

const char* kState = R"(---
apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: lab-pki}
spec:
  authorities: [{name: ca, commonName: Kubernetes}]
  certificates:
    - {name: kubernetes, issuer: ca, commonName: kubernetes, usages: [server, client]}
  files:
    - {path: /var/lib/kubernetes/ca.pem, hosts: {selector: {role: controller}}, content: {certificate: ca}}
    - {path: /var/lib/kubernetes/kubernetes.pem, hosts: {selector: {role: controller}}, content: {certificate: kubernetes}}
    - {path: /var/lib/kubernetes/kubernetes-key.pem, hosts: {selector: {role: controller}}, content: {key: kubernetes}}
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-apiserver}
spec:
  component: kube-apiserver
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-apiserver}
  flags:
    client-ca-file: /var/lib/kubernetes/ca.pem
    tls-cert-file: /var/lib/kubernetes/kubernetes.pem
    v: 2
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-scheduler}
spec:
  component: kube-scheduler
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-scheduler}
  configFiles:
    - path: /etc/kubernetes/config/kube-scheduler.yaml
      content: "clientConnection:\n  kubeconfig: /var/lib/kubernetes/kube-scheduler.kubeconfig\n"
  flags:
    config: /etc/kubernetes/config/kube-scheduler.yaml
    v: 2
)";

constexpr const char* kCa = "/var/lib/kubernetes/ca.pem";
constexpr const char* kApiserverUnit = "/etc/systemd/system/kube-apiserver.service";
constexpr const char* kSchedulerUnit = "/etc/systemd/system/kube-scheduler.service";
constexpr const char* kApiserverBinary = "/usr/local/bin/kube-apiserver";

class ServiceHoldBack : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kState);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    dir_ = ::testing::TempDir() + "/kthw-hold-back-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = runtime::SecretStore::open(dir_ + "/store", runtime::SecretStore::Mode::kWrite);
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    installable("kube-apiserver", "apiserver build 1");
    installable("kube-scheduler", "scheduler build 1");
    for (const char* name : {"controller-0", "controller-1"}) {
      hosts_[name] = std::make_shared<testing::FakeHost>();
      hosts_[name]->systemctl = true;
    }
    // Everything installed from the store and running, as after a first apply.
    (void)pass(true);
    for (auto& [name, host] : hosts_) {
      for (const char* unit : {"kube-apiserver.service", "kube-scheduler.service"}) {
        host->units[unit] = {"loaded", "active", "running", "enabled", "1"};
      }
    }
    ASSERT_TRUE(on(pass(true), "controller-0").plan.converged());
  }

  // A local binary kthw installs for `service`.
  void installable(const std::string& service, const std::string& content) {
    const std::string local = dir_ + "/" + service;
    std::ofstream(local, std::ios::binary) << content;
    binaries_[service] = {runtime::sha256Hex(content),
                          {local, runtime::sha256Hex(content), content.size()}};
  }

  // A foreign CA on controller-1, and a change to both services that would rewrite their units
  // and restart them everywhere (and a new apiserver binary to install).
  void guardControllerOneAndChangeBothServices() {
    host("controller-1").files.at(kCa).content =
        "-----BEGIN CERTIFICATE-----\nforeign\n-----END CERTIFICATE-----\n";
    for (auto& s : loaded_.state.services) {
      for (auto& f : s.flags) {
        if (f.name == "v") f.value.value = "4";
      }
    }
    installable("kube-apiserver", "apiserver build 2");
  }

  std::vector<engine::HostOutcome> pass(bool apply, std::vector<std::string> kinds = {}) {
    auto& b = loaded_.state.bundles.at(0);
    auto m = prepareMaterial(loaded_.state, b, store_.get(), apply, now_);
    EXPECT_TRUE(m.ok()) << m.status().message();
    material_ = {{b.name(), m.ok() ? *m : BundleMaterial{}}};
    CertificateBundleReconciler bundles(loaded_.state, material_);
    ControlPlaneServiceReconciler services(loaded_.state, binaries_);
    for (auto& [name, host] : hosts_) host->actions.clear();
    auto connect = [&](const resources::Host& h) { return hosts_.at(h.name()); };
    engine::PassOptions options;
    options.kinds = std::move(kinds);
    return apply ? engine::applyHosts(loaded_.state, {&bundles, &services}, connect, options)
                 : engine::planHosts(loaded_.state, {&bundles, &services}, connect, options);
  }

  static const engine::HostOutcome& on(const std::vector<engine::HostOutcome>& outcomes,
                                       const std::string& host) {
    return *std::find_if(outcomes.begin(), outcomes.end(),
                         [&](const engine::HostOutcome& o) { return o.host->name() == host; });
  }

  // The recorded actions on `host` that name `part`, but for health checks: those read, and a
  // held-back member's health is still awaited before another member restarts.
  std::vector<std::string> actionsNaming(const std::string& host, const std::string& part) {
    std::vector<std::string> out;
    for (const std::string& a : hosts_.at(host)->actions) {
      if (a.find(part) != std::string::npos && !a.starts_with("run systemctl is-active")) {
        out.push_back(a);
      }
    }
    return out;
  }

  testing::FakeHost& host(const std::string& name) { return *hosts_.at(name); }

  resources::LoadOutcome loaded_;
  std::string dir_;
  std::unique_ptr<runtime::SecretStore> store_;
  std::map<std::string, BundleMaterial> material_;
  std::map<std::string, BinarySource> binaries_;
  std::map<std::string, std::shared_ptr<testing::FakeHost>> hosts_;
  const std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

const std::string kHeldBack =
    "ControlPlaneService/kube-apiserver: controller-1: held back: kube-apiserver reads "
    "/var/lib/kubernetes/ca.pem, /var/lib/kubernetes/kubernetes.pem of CertificateBundle lab-pki, "
    "which the guard leaves as it is on this host";

TEST_F(ServiceHoldBack, AServiceReadingTheGuardedPkiIsHeldBackOnThatHostOnly) {
  guardControllerOneAndChangeBothServices();
  const std::string unit = host("controller-1").files.at(kApiserverUnit).content;

  auto out = pass(true);
  const HostPlan& guarded = on(out, "controller-1").plan;
  EXPECT_NE(std::find(guarded.problems.begin(), guarded.problems.end(), kHeldBack),
            guarded.problems.end())
      << ::testing::PrintToString(guarded.problems);
  EXPECT_EQ(actionsNaming("controller-1", "kube-apiserver"), std::vector<std::string>{});
  EXPECT_EQ(host("controller-1").files.at(kApiserverUnit).content, unit);
  EXPECT_EQ(host("controller-1").files.at(kApiserverBinary).content, "apiserver build 1");

  // The unguarded host goes on: new binary, new unit, a restart.
  EXPECT_TRUE(on(out, "controller-0").plan.problems.empty())
      << ::testing::PrintToString(on(out, "controller-0").plan.problems);
  EXPECT_EQ(host("controller-0").files.at(kApiserverBinary).content, "apiserver build 2");
  EXPECT_NE(host("controller-0").files.at(kApiserverUnit).content.find("--v=4"), std::string::npos);
  EXPECT_EQ(actionsNaming("controller-0", "systemctl restart 'kube-apiserver.service'").size(), 1u);
  // The held-back member still counts: its health was awaited before controller-0 restarted.
  EXPECT_EQ(std::count(host("controller-1").actions.begin(), host("controller-1").actions.end(),
                       "run systemctl is-active --quiet 'kube-apiserver.service'"),
            1);

  // Blocking: the service is not Ready, so apply exits 1.
  std::map<std::string, engine::ConditionSet> conditions;
  for (const engine::HostOutcome& o : out) engine::recordConditions(o, true, 0, now_, conditions);
  const engine::Condition* ready = conditions["ControlPlaneService/kube-apiserver"].get("Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, engine::ConditionStatus::kFalse);
  EXPECT_EQ(ready->message, kHeldBack);

  // The next pass: nothing more on either host, the problem stays.
  auto again = pass(true);
  EXPECT_EQ(host("controller-0").actions, std::vector<std::string>{});
  EXPECT_EQ(actionsNaming("controller-1", "kube-apiserver"), std::vector<std::string>{});
  EXPECT_EQ(std::count(on(again, "controller-1").plan.problems.begin(),
                       on(again, "controller-1").plan.problems.end(), kHeldBack),
            1);
}

TEST_F(ServiceHoldBack, AServiceReadingNoFileOfTheBundleProceedsOnTheGuardedHost) {
  guardControllerOneAndChangeBothServices();
  auto out = pass(true);
  for (const std::string& p : on(out, "controller-1").plan.problems) {
    EXPECT_FALSE(p.starts_with("ControlPlaneService/kube-scheduler")) << p;
  }
  EXPECT_EQ(actionsNaming("controller-1", "write " + std::string(kSchedulerUnit)).size(), 1u);
  EXPECT_EQ(actionsNaming("controller-1", "systemctl restart 'kube-scheduler.service'").size(), 1u);
  EXPECT_NE(host("controller-1").files.at(kSchedulerUnit).content.find("--v=4"), std::string::npos);
}

TEST_F(ServiceHoldBack, DiffShowsNoChangeOfAHeldBackServiceAndTheGuardHoldsWhenOnlyServicesRun) {
  guardControllerOneAndChangeBothServices();
  for (bool apply : {false, true}) {
    auto out = pass(apply, {"ControlPlaneService"});
    const HostPlan& guarded = on(out, "controller-1").plan;
    EXPECT_EQ(guarded.problems, std::vector<std::string>{kHeldBack}) << apply;
    for (const Action& a : guarded.actions) {
      EXPECT_NE(a.resource, "ControlPlaneService/kube-apiserver") << a.summary;
      EXPECT_NE(a.resource, "CertificateBundle/lab-pki") << a.summary;  // not selected
    }
    EXPECT_TRUE(on(out, "controller-0").plan.problems.empty());
  }
  EXPECT_EQ(actionsNaming("controller-1", "kube-apiserver"), std::vector<std::string>{});
  EXPECT_EQ(actionsNaming("controller-0", "systemctl restart 'kube-apiserver.service'").size(), 1u);
}

TEST(NamesPath, MatchesTheWholePathAsAValueOrInsideOne) {
  const std::string ca = "/var/lib/kubernetes/ca.pem";
  EXPECT_TRUE(namesPath(ca, ca));
  EXPECT_TRUE(namesPath("--etcd-cafile=" + ca, ca));
  EXPECT_TRUE(namesPath("/x/other.pem," + ca, ca));
  EXPECT_TRUE(namesPath("kubeconfig: \"" + ca + "\"\n", ca));
  EXPECT_TRUE(namesPath("a.pem " + ca + ":*.example.com", ca));
  EXPECT_FALSE(namesPath(ca + ".bak", ca));
  EXPECT_FALSE(namesPath("/srv" + ca, ca));
  EXPECT_FALSE(namesPath("/var/lib/kubernetes", ca));
  EXPECT_FALSE(namesPath("", ca));
  EXPECT_FALSE(namesPath(ca, ""));
}

}  // namespace
}  // namespace kthw::reconcilers
