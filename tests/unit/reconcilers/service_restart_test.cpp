// When a service restarts for a file another kind writes in the same pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "reconcilers/control_plane_service_reconciler.h"
#include "resources/desired_state.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

class ServiceRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    std::istringstream none;
    loaded_ = resources::loadDesiredState({KTHW_SOURCE_DIR "/examples/ha-cluster"}, none);
    ASSERT_TRUE(loaded_.ok());
    host_ = loaded_.state.findHost("controller-0");
    ASSERT_NE(host_, nullptr);
    observed_.systemctlAvailable = true;
    for (const auto& s : loaded_.state.services) {
      observed_.units[s.unit.name] = {"loaded", "active", "running", "enabled", "1"};
    }
    // Every file the services write is already as wanted: render once, then observe that.
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    HostPlan first;
    r.diff(*host_, observed_, first);
    for (const Action& a : first.actions) {
      if (a.type != ActionType::kWriteFile || a.contentFile) continue;
      observed_.files[a.target] = {
          runtime::FileType::kFile,     a.file.mode, a.file.owner, a.file.group, a.content.size(),
          runtime::sha256Hex(a.content)};
    }
  }

  // The apiserver's restart after a write of its serving key with `current` on the host.
  bool apiserverRestarts(const std::string& current) {
    HostPlan plan;
    Action key = makeAction(ActionType::kWriteFile, "CertificateBundle/kubernetes-the-hard-way",
                            "/var/lib/kubernetes/kubernetes-key.pem", "write", "");
    key.content = "KEY";
    key.file = {key.target, "root", "root", 0600};
    key.ifCurrentSha256 = runtime::sha256Hex(current);
    plan.actions.push_back(key);
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    r.diff(*host_, observed_, plan);
    for (const Action& a : plan.actions) {
      if (a.rollout == Action::Rollout::kRestart && a.target == "kube-apiserver.service") {
        return true;
      }
    }
    return false;
  }

  resources::LoadOutcome loaded_;
  const resources::Host* host_ = nullptr;
  std::map<std::string, BinarySource> binaries_;
  runtime::ProbeResult observed_;
};

TEST_F(ServiceRestart, ANewKeyRestartsTheServiceThatReadsIt) {
  EXPECT_TRUE(apiserverRestarts("OLD KEY"));
}

TEST_F(ServiceRestart, AFixOfTheKeysModeAloneRestartsNothing) {
  EXPECT_FALSE(apiserverRestarts("KEY"));
}

// etcd reads --initial-cluster, --initial-cluster-state and --initial-cluster-token only when a
// member first starts: a unit that differs in them alone is rewritten, and etcd is not restarted
// (a controller joining or leaving changes --initial-cluster on every member).
class EtcdBootstrapFlags : public ServiceRestart {
 protected:
  resources::ControlPlaneService& etcd() {
    for (auto& s : loaded_.state.services) {
      if (s.component == "etcd") return s;
    }
    ADD_FAILURE() << "no etcd";
    return loaded_.state.services.front();
  }
  resources::Flag& flag(const std::string& name) {
    for (auto& f : etcd().flags) {
      if (f.name == name) return f;
    }
    ADD_FAILURE() << "no flag " << name;
    return etcd().flags.front();
  }

  // The plan after the flags changed, with the unit that runs now probed as `running`.
  HostPlan planWith(const std::optional<std::string>& running) {
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    runtime::ProbeRequest request;
    r.observe(*host_, request);
    const std::string path = "/etc/systemd/system/" + etcd().unit.name;
    const bool asked =
        std::any_of(request.contentsUnlessSha256.begin(), request.contentsUnlessSha256.end(),
                    [&](const auto& c) { return c.first == path; });
    EXPECT_TRUE(asked) << "the etcd unit's content is not probed";
    runtime::ProbeResult observed = observed_;
    if (running) observed.contents[path] = *running;
    HostPlan plan;
    r.diff(*host_, observed, plan);
    return plan;
  }

  static const Action* find(const HostPlan& plan, const std::string& summaryPrefix) {
    for (const Action& a : plan.actions) {
      if (a.summary.starts_with(summaryPrefix)) return &a;
    }
    return nullptr;
  }

  // The unit as rendered before any change: what the host runs.
  std::string runningUnit() {
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    HostPlan plan;
    runtime::ProbeResult empty = observed_;
    empty.files.erase("/etc/systemd/system/" + etcd().unit.name);
    r.diff(*host_, empty, plan);
    const Action* write = find(plan, "write /etc/systemd/system/" + etcd().unit.name);
    EXPECT_NE(write, nullptr);
    return write != nullptr ? write->content : "";
  }
};

TEST_F(EtcdBootstrapFlags, AChangeOfThemAloneRewritesTheUnitWithoutARestart) {
  const std::string running = runningUnit();
  ASSERT_NE(running.find("--initial-cluster-state=new"), std::string::npos) << running;
  flag("initial-cluster-state").value.value = "existing";
  flag("initial-cluster").value.value += ",controller-3=https://10.240.0.13:2380";
  const HostPlan plan = planWith(running);
  const Action* write = find(plan, "write /etc/systemd/system/" + etcd().unit.name);
  ASSERT_NE(write, nullptr);
  EXPECT_NE(write->reason.find("--initial-cluster* alone"), std::string::npos) << write->reason;
  EXPECT_EQ(find(plan, "restart " + etcd().unit.name), nullptr);
}

TEST_F(EtcdBootstrapFlags, AnyOtherChangeStillRestarts) {
  const std::string running = runningUnit();
  flag("initial-cluster-state").value.value = "existing";
  flag("data-dir").value.value = "/var/lib/etcd-moved";
  EXPECT_NE(find(planWith(running), "restart " + etcd().unit.name), nullptr);
}

TEST_F(EtcdBootstrapFlags, AnUnknownRunningUnitRestarts) {
  flag("initial-cluster-state").value.value = "existing";
  EXPECT_NE(find(planWith(std::nullopt), "restart " + etcd().unit.name), nullptr);
}

}  // namespace
}  // namespace kthw::reconcilers
