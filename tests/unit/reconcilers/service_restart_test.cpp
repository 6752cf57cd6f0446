// When a service restarts for a file another kind writes in the same pass.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kthw::reconcilers
