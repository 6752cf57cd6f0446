#include "reconcilers/host_reconciler.h"

#include <gtest/gtest.h>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/conditions.h"
#include "engine/host_pass.h"

namespace kthw::reconcilers {
namespace {

const char* kHost = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: controller-0}
spec:
  address: 10.0.1.10
  ssh: {identityFile: /k}
  etcHosts:
    - {ip: 10.0.1.20, names: [ip-10-0-1-20]}
    - {ip: 10.0.1.21, names: [ip-10-0-1-21, worker-1]}
  directories:
    - {path: /etc/kubernetes/config}
    - {path: /var/lib/kubernetes, mode: "0700"}
  sysctls:
    net.ipv4.ip_forward: 1
  kernelModules: [br_netfilter, overlay]
)";

class HostReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadText(kHost);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    host_ = std::make_shared<testing::FakeHost>();
    host_->files["/etc/hosts"] = {"127.0.0.1 localhost\n", {"/etc/hosts", "root", "root", 0644}};
    host_->sysctls["net.ipv4.ip_forward"] = "0";
  }

  std::vector<engine::HostOutcome> pass(bool apply) {
    const std::vector<const HostScopedReconciler*> reconcilers = {&reconciler_};
    auto connect = [this](const resources::Host&) { return host_; };
    return apply ? engine::applyHosts(loaded_.state, reconcilers, connect, {})
                 : engine::planHosts(loaded_.state, reconcilers, connect, {});
  }

  resources::LoadOutcome loaded_;
  std::shared_ptr<testing::FakeHost> host_;
  HostBasicsReconciler reconciler_;
};

TEST_F(HostReconcilerTest, ColdApplyConvergesAndSecondPassDoesNothing) {
  auto first = pass(true);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(first[0].failed());
  EXPECT_EQ(host_->actions,
            (std::vector<std::string>{
                "mkdir /etc/kubernetes/config", "mkdir /var/lib/kubernetes", "edit /etc/hosts",
                "write /etc/sysctl.d/90-kthw.conf",
                "run set -e\nprintf '%s\\n' '1' > '/proc/sys/net/ipv4/ip_forward'\n",
                "write /etc/modules-load.d/kthw.conf", "run modprobe -- 'br_netfilter'",
                "run modprobe -- 'overlay'"}));
  EXPECT_EQ(host_->files["/etc/hosts"].content,
            "127.0.0.1 localhost\n"
            "# BEGIN kthw managed block\n"
            "10.0.1.20 ip-10-0-1-20\n"
            "10.0.1.21 ip-10-0-1-21 worker-1\n"
            "# END kthw managed block\n");
  EXPECT_EQ(host_->files["/var/lib/kubernetes"].spec.mode, 0700u);
  EXPECT_EQ(host_->sysctls["net.ipv4.ip_forward"], "1");

  host_->actions.clear();
  auto second = pass(true);
  EXPECT_TRUE(second[0].plan.converged());
  EXPECT_TRUE(host_->actions.empty()) << host_->actions.front();
  // One probe per host per pass, and one refresh of the hash cache after the pass that wrote.
  EXPECT_EQ(host_->probes, 3);
}

TEST_F(HostReconcilerTest, LinesOutsideTheBlockAreNeverTouched) {
  (void)pass(true);
  host_->files["/etc/hosts"].content =
      "192.168.9.9 mine\n" + host_->files["/etc/hosts"].content + "10.9.9.9 after\n";
  auto plan = pass(false);
  EXPECT_TRUE(plan[0].plan.converged());
  // An edit inside the block is drift, and the repair keeps the operator's lines.
  std::string& c = host_->files["/etc/hosts"].content;
  c.replace(c.find("worker-1"), 8, "worker-9");
  plan = pass(false);
  ASSERT_EQ(plan[0].plan.actions.size(), 1u);
  EXPECT_EQ(plan[0].plan.actions[0].summary,
            "update /etc/hosts (~10.0.1.21 ip-10-0-1-21 worker-1)");
  EXPECT_NE(plan[0].plan.actions[0].diff.find("-10.0.1.21 ip-10-0-1-21 worker-9\n"
                                              "+10.0.1.21 ip-10-0-1-21 worker-1\n"),
            std::string::npos);
  (void)pass(true);
  EXPECT_NE(c.find("192.168.9.9 mine\n"), std::string::npos);
  EXPECT_NE(c.find("10.9.9.9 after\n"), std::string::npos);
  EXPECT_NE(c.find("worker-1"), std::string::npos);
}

// In /etc/hosts the first match wins: a line the operator put after the block must stay after
// it, or an update would let it override kthw's entries.
TEST_F(HostReconcilerTest, AnUpdateEditsTheBlockWhereItStands) {
  host_->files["/etc/hosts"].content =
      "127.0.0.1 localhost\n"
      "# BEGIN kthw managed block\n"
      "10.0.1.20 ip-10-0-1-20\n"
      "# END kthw managed block\n"
      "10.0.1.21 ip-10-0-1-21 operator-pin\n"
      "::1 localhost ip6-localhost\n";
  auto outcome = pass(true);
  ASSERT_FALSE(outcome[0].failed());
  EXPECT_EQ(host_->files["/etc/hosts"].content,
            "127.0.0.1 localhost\n"
            "# BEGIN kthw managed block\n"
            "10.0.1.20 ip-10-0-1-20\n"
            "10.0.1.21 ip-10-0-1-21 worker-1\n"
            "# END kthw managed block\n"
            "10.0.1.21 ip-10-0-1-21 operator-pin\n"
            "::1 localhost ip6-localhost\n");
  host_->actions.clear();
  EXPECT_TRUE(pass(true)[0].plan.converged());
  EXPECT_TRUE(host_->actions.empty());
}

TEST_F(HostReconcilerTest, RepairsDirectoryModeAndReportsWhy) {
  (void)pass(true);
  host_->files["/var/lib/kubernetes"].spec.mode = 0755;
  auto plan = pass(false);
  ASSERT_EQ(plan[0].plan.actions.size(), 1u);
  EXPECT_EQ(plan[0].plan.actions[0].reason, "root:root 0755, want root:root 0700");
}

TEST_F(HostReconcilerTest, ADriftedSysctlNamesTheKeyTheValueFoundAndTheValueWanted) {
  auto plan = pass(false);
  const Action* sysctl = nullptr;
  for (const Action& a : plan[0].plan.actions) sysctl = a.target == "sysctl" ? &a : sysctl;
  ASSERT_NE(sysctl, nullptr);
  EXPECT_EQ(sysctl->summary, "set sysctl net.ipv4.ip_forward to 1 (found 0)");
  EXPECT_EQ(sysctl->reason, "running value differs");
  // Apply reports the same words for what it did.
  auto applied = pass(true);
  bool reported = false;
  for (const engine::ActionResult& r : applied[0].results) {
    reported = reported || (r.status.ok() && r.action.summary == sysctl->summary);
  }
  EXPECT_TRUE(reported);

  // Several keys: each one, values with spaces quoted; a key already right is not named.
  resources::Host& h = loaded_.state.hosts[0];
  h.sysctls["net.ipv4.tcp_rmem"] = "4096 131072 6291456";
  h.sysctls["vm.swappiness"] = "10";
  host_->sysctls["net.ipv4.tcp_rmem"] = "4096\t87380\t6291456";
  host_->sysctls["vm.swappiness"] = "60";
  plan = pass(false);
  sysctl = nullptr;
  for (const Action& a : plan[0].plan.actions) sysctl = a.target == "sysctl" ? &a : sysctl;
  ASSERT_NE(sysctl, nullptr);
  EXPECT_EQ(sysctl->summary,
            "set sysctls net.ipv4.tcp_rmem to \"4096 131072 6291456\" (found \"4096 87380 "
            "6291456\"), vm.swappiness to 10 (found 60)");
  EXPECT_EQ(sysctl->reason, "running values differ");
}

TEST_F(HostReconcilerTest, ReportsASysctlTheHostDoesNotHave) {
  host_->sysctls.clear();
  auto plan = pass(false);
  ASSERT_EQ(plan[0].plan.problems.size(), 1u);
  EXPECT_NE(plan[0].plan.problems[0].find("sysctl net.ipv4.ip_forward does not exist"),
            std::string::npos);
}

TEST_F(HostReconcilerTest, ReportsAnUnreachableHostWithoutActing) {
  host_->unreachable = true;
  auto outcome = pass(true);
  EXPECT_FALSE(outcome[0].reach.ok());
  EXPECT_TRUE(outcome[0].failed());
  EXPECT_TRUE(host_->actions.empty());
}

TEST_F(HostReconcilerTest, RemovesFilesNoLongerDesired) {
  (void)pass(true);
  resources::Host& h = loaded_.state.hosts[0];
  h.sysctls.clear();
  h.kernelModules.clear();
  host_->actions.clear();
  (void)pass(true);
  EXPECT_EQ(host_->actions, (std::vector<std::string>{"remove /etc/sysctl.d/90-kthw.conf",
                                                      "remove /etc/modules-load.d/kthw.conf"}));
}

}  // namespace
}  // namespace kthw::reconcilers

namespace kthw::reconcilers {
namespace {

// A host whose writer lock another kthw holds.
class LockedFakeHost : public testing::FakeHost {
 public:
  std::string holder = "kthw-run root@elsewhere pid 7";
  int lockCalls = 0;
  int unlockCalls = 0;
  StatusOr<runtime::HostLockState> lock(const std::string& owner, std::chrono::seconds) override {
    ++lockCalls;
    if (holder.empty() || holder == owner) {
      holder = owner;
      return runtime::HostLockState{true, "", 0, ""};
    }
    return runtime::HostLockState{false, holder, 42, ""};
  }
  Status unlock(const std::string& owner) override {
    ++unlockCalls;
    if (holder == owner) holder.clear();
    return okStatus();
  }
};

class HostPassLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadText(kHost);
    ASSERT_TRUE(loaded_.ok());
    host_ = std::make_shared<LockedFakeHost>();
    host_->files["/etc/hosts"] = {"127.0.0.1 localhost\n", {"/etc/hosts", "root", "root", 0644}};
    host_->sysctls["net.ipv4.ip_forward"] = "0";
  }
  std::vector<engine::HostOutcome> apply(engine::PassOptions options) {
    const std::vector<const HostScopedReconciler*> reconcilers = {&reconciler_};
    return engine::applyHosts(
        loaded_.state, reconcilers, [this](const resources::Host&) { return host_; }, options);
  }
  resources::LoadOutcome loaded_;
  std::shared_ptr<LockedFakeHost> host_;
  HostBasicsReconciler reconciler_;
};

TEST_F(HostPassLockTest, AHeldLockLeavesTheHostUnchangedAndNamesTheHolder) {
  engine::PassOptions options;
  options.lockOwner = "kthw-apply root@here pid 1";
  auto outcomes = apply(options);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].lockedBy, "kthw-run root@elsewhere pid 7 (held for 42s)");
  EXPECT_TRUE(outcomes[0].failed());
  EXPECT_FALSE(outcomes[0].plan.actions.empty()) << "the plan is still reported";
  EXPECT_TRUE(outcomes[0].results.empty());
  EXPECT_TRUE(host_->actions.empty()) << "nothing was written";
  std::map<std::string, engine::ConditionSet> conditions;
  engine::recordConditions(outcomes[0], true, 1, std::chrono::system_clock::now(), conditions);
  const engine::Condition* ready = conditions["Host/controller-0"].get("Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, engine::ConditionStatus::kFalse);
  EXPECT_EQ(ready->reason, "HostLocked");
  EXPECT_NE(ready->message.find("pid 7"), std::string::npos);
}

TEST_F(HostPassLockTest, TheLockIsTakenBeforeTheFirstChangeAndReleasedAfter) {
  host_->holder.clear();
  engine::PassOptions options;
  options.lockOwner = "kthw-apply root@here pid 1";
  auto outcomes = apply(options);
  EXPECT_FALSE(outcomes[0].failed());
  EXPECT_EQ(host_->lockCalls, 1);
  EXPECT_EQ(host_->unlockCalls, 1);
  EXPECT_TRUE(host_->holder.empty());
  // Converged: no change, so no lock.
  apply(options);
  EXPECT_EQ(host_->lockCalls, 1);
}

TEST_F(HostPassLockTest, AShutdownStopsBetweenActions) {
  host_->holder.clear();
  std::atomic<bool> stop{true};
  engine::PassOptions options;
  options.cancel = &stop;
  auto outcomes = apply(options);
  ASSERT_FALSE(outcomes[0].results.empty());
  for (const engine::ActionResult& r : outcomes[0].results) {
    EXPECT_TRUE(r.skipped);
    EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
    EXPECT_NE(r.status.message().find("shutting down"), std::string::npos);
  }
  EXPECT_TRUE(host_->actions.empty());
}

}  // namespace
}  // namespace kthw::reconcilers

namespace kthw::reconcilers {
namespace {

// The shape of a service's plan: a file, a step that needs it, and a health-gated restart.
class ServiceShapedReconciler : public HostScopedReconciler {
 public:
  std::string kind() const override { return "ControlPlaneService"; }
  void observe(const resources::Host&, runtime::ProbeRequest&) const override {}
  void diff(const resources::Host&, const runtime::ProbeResult&, HostPlan& plan) const override {
    const std::string resource = "ControlPlaneService/etcd";
    plan.addResource(resource);
    Action write = makeAction(ActionType::kWriteFile, resource, "/etc/etcd/x.pem",
                              "write /etc/etcd/x.pem", "content differs");
    write.file = runtime::FileSpec{"/etc/etcd/x.pem", "root", "root", 0600};
    write.content = "certificate";
    plan.actions.push_back(write);
    Action check = makeAction(ActionType::kRunCommand, resource, "etcd.service",
                              "check etcd.service", "after its files");
    check.command =
        runtime::HostCommand::unit(runtime::HostCommand::Kind::kEnableUnit, "etcd.service");
    check.needsPrevious = true;
    plan.actions.push_back(check);
    Action enable = check;
    enable.summary = "enable etcd.service";
    plan.actions.push_back(enable);
    Action restart = makeAction(ActionType::kRunCommand, resource, "etcd.service",
                                "restart etcd.service", "x.pem changed");
    restart.command =
        runtime::HostCommand::unit(runtime::HostCommand::Kind::kRestartUnit, "etcd.service");
    restart.rollout = Action::Rollout::kRestart;
    restart.rolloutGroup = "etcd";
    plan.actions.push_back(restart);
    plan.health["etcd"] =
        HealthProbe{runtime::HostCommand::checkHttps("https://127.0.0.1:2379/health", "", "", ""),
                    "https://127.0.0.1:2379/health", 1};
  }
};

class FailingWriteHost : public testing::FakeHost {
 public:
  Status failure;
  Status writeFile(const runtime::FileSpec& file, const std::string& content,
                   const std::optional<std::string>& ifCurrentSha256) override {
    if (file.path == "/etc/etcd/x.pem") return failure;
    return FakeHost::writeFile(file, content, ifCurrentSha256);
  }
};

std::vector<std::string> progressLines(const std::vector<engine::HostOutcome>& outcomes) {
  std::vector<std::string> lines;
  for (const engine::ActionResult& r : outcomes[0].results) {
    lines.push_back(std::string(r.skipped       ? "skipped "
                                : r.status.ok() ? "done "
                                                : "FAILED ") +
                    r.action.summary + ": " + r.status.message());
  }
  return lines;
}

TEST(HostPassSkips, ASkippedStepNamesTheStepThatFailedAndWhy) {
  auto loaded = resources::testing::loadText(kHost);
  ASSERT_TRUE(loaded.ok());
  auto host = std::make_shared<FailingWriteHost>();
  host->failure = failedPrecondition(
      "write /etc/etcd/x.pem failed (exit 1): cannot create temp file: No space left on device");
  const ServiceShapedReconciler service;
  const std::vector<const HostScopedReconciler*> reconcilers = {&service};
  auto connect = [&](const resources::Host&) { return host; };
  auto outcomes = engine::applyHosts(loaded.state, reconcilers, connect, {});
  const std::string why =
      "write /etc/etcd/x.pem failed (exit 1): cannot create temp file: No space left on device";
  EXPECT_EQ(progressLines(outcomes),
            (std::vector<std::string>{
                "FAILED write /etc/etcd/x.pem: " + why, "skipped check etcd.service: " + why,
                "skipped enable etcd.service: " + why, "skipped restart etcd.service: " + why}));
  for (const std::string& a : host->actions) EXPECT_EQ(a.find("restart"), std::string::npos) << a;

  // A failure whose message does not say which step it was gets the step's name.
  host->failure = unavailable("lost the SSH connection to 10.0.1.10 twice");
  outcomes = engine::applyHosts(loaded.state, reconcilers, connect, {});
  ASSERT_EQ(outcomes[0].results.size(), 4u);
  EXPECT_EQ(outcomes[0].results.back().status.message(),
            "write /etc/etcd/x.pem failed: lost the SSH connection to 10.0.1.10 twice");
  EXPECT_TRUE(outcomes[0].results.back().skipped);
}

}  // namespace
}  // namespace kthw::reconcilers
