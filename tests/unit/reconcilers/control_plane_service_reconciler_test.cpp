// ControlPlaneService on one host, as sample-controller tests its controller: the exact actions
// on an empty host, none once the host shows what they did, and the one write and restart a
// change (in the spec or by hand on the host) takes.
#include "reconcilers/control_plane_service_reconciler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/host_pass.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

const char* kServices = R"(---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-controller-manager}
spec:
  component: kube-controller-manager
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-controller-manager}
  unit: {description: Kubernetes Controller Manager}
  flags:
    cluster-name: kubernetes
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-scheduler}
spec:
  component: kube-scheduler
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-scheduler}
  unit: {description: Kubernetes Scheduler}
  configFiles:
    - path: /etc/kubernetes/config/kube-scheduler.yaml
      content: |
        leaderElection:
          leaderElect: true
  flags:
    config: /etc/kubernetes/config/kube-scheduler.yaml
    v: 2
  health:
    url: http://127.0.0.1:10251/healthz
)";

constexpr const char* kSchedulerUnit = "/etc/systemd/system/kube-scheduler.service";

// One line per action: what it is, what it acts on, how it rolls out, and why.
std::string describe(const Action& a) {
  std::string out = std::string(actionTypeName(a.type)) + " " + a.target;
  if (!a.command.empty()) out += " `" + runtime::commandScript(a.command) + "`";
  if (a.type == ActionType::kWriteFile) {
    out += " " + a.file.owner + ":" + a.file.group + " " + runtime::formatMode(a.file.mode);
  }
  if (a.rollout != Action::Rollout::kNone) {
    out += a.rollout == Action::Rollout::kStart ? " [start " : " [restart ";
    out += a.rolloutGroup + " #" + std::to_string(a.rolloutOrder) + "]";
  }
  return out + " (" + a.reason + ")";
}

std::vector<std::string> describe(const HostPlan& plan) {
  std::vector<std::string> out;
  for (const Action& a : plan.actions) out.push_back(describe(a));
  return out;
}

class ControlPlaneServiceReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kServices);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    host_ = loaded_.state.findHost("controller-0");
    ASSERT_NE(host_, nullptr);
    dir_ = ::testing::TempDir() + "/kthw-cps-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    installable("kube-controller-manager", "kcm build 1");
    installable("kube-scheduler", "scheduler build 1");
    empty_.systemctlAvailable = true;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A local copy of the service's binary that kthw installs.
  void installable(const std::string& service, const std::string& content) {
    const std::string local = dir_ + "/" + service;
    std::ofstream(local, std::ios::binary) << content;
    const std::string sha = runtime::sha256Hex(content);
    binaries_[service] = {sha, {local, sha, content.size()}};
  }

  HostPlan diff(const runtime::ProbeResult& observed) {
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    HostPlan plan;
    r.diff(*host_, observed, plan);
    return plan;
  }

  // An apply of the desired state as it is now, through the engine, on `fake` as controller-0.
  std::vector<engine::HostOutcome> applyOn(const std::shared_ptr<testing::FakeHost>& fake) {
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    auto connect = [&](const resources::Host&) { return fake; };
    engine::PassOptions only;
    only.hosts = {"controller-0"};
    return engine::applyHosts(loaded_.state, {&r}, connect, only);
  }

  // What the next probe reports once the plan's actions ran: every file with the sha256 of what
  // was written, every unit enabled, started ones active.
  static runtime::ProbeResult after(const HostPlan& plan, runtime::ProbeResult observed) {
    for (const Action& a : plan.actions) {
      if (a.type == ActionType::kWriteFile) {
        const std::string sha =
            a.contentFile ? a.contentFile->sha256 : runtime::sha256Hex(a.content);
        const uint64_t size = a.contentFile ? a.contentFile->size : a.content.size();
        observed.files[a.target] = {
            runtime::FileType::kFile, a.file.mode, a.file.owner, a.file.group, size, sha};
      }
      if (a.type != ActionType::kRunCommand || !a.target.ends_with(".service")) continue;
      runtime::UnitState& unit = observed.units[a.target];
      unit.loadState = "loaded";
      if (a.summary.starts_with("enable ")) unit.unitFileState = "enabled";
      if (a.rollout != Action::Rollout::kNone) {
        unit.activeState = "active";
        unit.subState = "running";
      }
    }
    return observed;
  }

  resources::ControlPlaneService& service(const std::string& name) {
    for (auto& s : loaded_.state.services) {
      if (s.name() == name) return s;
    }
    ADD_FAILURE() << "no service " << name;
    return loaded_.state.services.front();
  }

  static const Action* find(const HostPlan& plan, const std::string& target) {
    for (const Action& a : plan.actions) {
      if (a.target == target) return &a;
    }
    return nullptr;
  }

  resources::LoadOutcome loaded_;
  const resources::Host* host_ = nullptr;
  std::string dir_;
  std::map<std::string, BinarySource> binaries_;
  runtime::ProbeResult empty_;
};

const std::vector<std::string> kColdActions = {
    "write /usr/local/bin/kube-controller-manager root:root 0755 (absent)",
    "write /etc/systemd/system/kube-controller-manager.service root:root 0644 (absent)",
    "write /usr/local/bin/kube-scheduler root:root 0755 (absent)",
    "write /etc/kubernetes/config/kube-scheduler.yaml root:root 0644 (absent)",
    "write /etc/systemd/system/kube-scheduler.service root:root 0644 (absent)",
    "run systemd `systemctl daemon-reload` (a unit changed)",
    "run kube-controller-manager.service `systemctl enable --quiet "
    "'kube-controller-manager.service'` (not installed yet)",
    "run kube-controller-manager.service `systemctl start "
    "'kube-controller-manager.service'` [start kube-controller-manager #2] (not running)",
    "run kube-scheduler.service `systemctl enable --quiet 'kube-scheduler.service'` (not "
    "installed yet)",
    "run kube-scheduler.service `systemctl start 'kube-scheduler.service'` [start "
    "kube-scheduler #3] (not running)",
};

TEST_F(ControlPlaneServiceReconcilerTest, AnEmptyHostGetsFilesThenOneReloadThenEnableAndStart) {
  const HostPlan plan = diff(empty_);
  EXPECT_EQ(plan.problems, std::vector<std::string>{});
  EXPECT_EQ(describe(plan), kColdActions);
  EXPECT_EQ(plan.resources, (std::vector<std::string>{"ControlPlaneService/kube-controller-manager",
                                                      "ControlPlaneService/kube-scheduler"}));
  const Action* unit = find(plan, kSchedulerUnit);
  ASSERT_NE(unit, nullptr);
  EXPECT_EQ(unit->content,
            "[Unit]\n"
            "Description=Kubernetes Scheduler\n"
            "\n"
            "[Service]\n"
            "ExecStart=/usr/local/bin/kube-scheduler \\\n"
            "  --config=/etc/kubernetes/config/kube-scheduler.yaml \\\n"
            "  --v=2\n"
            "Restart=on-failure\n"
            "RestartSec=5\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
  EXPECT_EQ(unit->ifCurrentSha256, "");  // created, never overwriting a file that appeared
  const Action* config = find(plan, "/etc/kubernetes/config/kube-scheduler.yaml");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->content, "leaderElection:\n  leaderElect: true\n");
  const Action* binary = find(plan, "/usr/local/bin/kube-scheduler");
  ASSERT_NE(binary, nullptr);
  ASSERT_TRUE(binary->contentFile.has_value());
  EXPECT_EQ(binary->contentFile->path, binaries_["kube-scheduler"].local.path);
  // Health: the URL when the spec names one, systemd's word otherwise.
  ASSERT_EQ(plan.health.size(), 2u);
  EXPECT_EQ(plan.health.at("kube-scheduler").description, "http://127.0.0.1:10251/healthz");
  EXPECT_EQ(runtime::commandScript(plan.health.at("kube-controller-manager").check),
            "systemctl is-active --quiet 'kube-controller-manager.service'");
}

TEST_F(ControlPlaneServiceReconcilerTest, ASecondPassOverWhatTheFirstDidTakesNoAction) {
  const HostPlan second = diff(after(diff(empty_), empty_));
  EXPECT_EQ(describe(second), std::vector<std::string>{});
  EXPECT_EQ(second.problems, std::vector<std::string>{});
  EXPECT_TRUE(second.converged());
}

// The plan for a scheduler unit that differs from the rendered one: rewrite it, reload systemd,
// restart the service.
const std::vector<std::string> kRewriteUnitAndRestart = {
    "write /etc/systemd/system/kube-scheduler.service root:root 0644 (unit differs)",
    "run systemd `systemctl daemon-reload` (a unit changed)",
    "run kube-scheduler.service `systemctl restart 'kube-scheduler.service'` "
    "[restart kube-scheduler #3] (changed: unit)"};

TEST_F(ControlPlaneServiceReconcilerTest, AChangedFlagRewritesThatUnitAndRestartsThatServiceOnly) {
  const runtime::ProbeResult converged = after(diff(empty_), empty_);
  const std::string oldSha = converged.file(kSchedulerUnit).sha256;
  for (auto& f : service("kube-scheduler").flags) {
    if (f.name == "v") f.value.value = "4";
  }
  const HostPlan plan = diff(converged);
  EXPECT_EQ(describe(plan), kRewriteUnitAndRestart);
  const Action* unit = find(plan, kSchedulerUnit);
  ASSERT_NE(unit, nullptr);
  EXPECT_EQ(unit->ifCurrentSha256, oldSha);  // replaces only the unit the probe saw
  EXPECT_TRUE(unit->showContentDiff);
  EXPECT_NE(unit->content.find("  --v=4\n"), std::string::npos) << unit->content;
  // And once written and restarted, nothing more.
  EXPECT_TRUE(diff(after(plan, converged)).converged());
}

// A file an earlier reconciler writes in the same plan restarts the services that name it as a
// whole path, and no service whose paths only begin the same way.
TEST_F(ControlPlaneServiceReconcilerTest, AnEarlierWriteRestartsOnlyTheServicesThatNameThatPath) {
  const runtime::ProbeResult converged = after(diff(empty_), empty_);
  const auto restartsAfterWriting = [&](const std::string& path) {
    HostPlan plan;
    Action earlier = makeAction(ActionType::kWriteFile, "CertificateBundle/pki", path,
                                "write " + path, "content differs");
    earlier.content = "new";
    plan.actions.push_back(earlier);
    ControlPlaneServiceReconciler(loaded_.state, binaries_).diff(*host_, converged, plan);
    std::vector<std::string> restarts;
    for (const Action& a : plan.actions) {
      if (a.rollout == Action::Rollout::kRestart) restarts.push_back(a.target + " " + a.reason);
    }
    return restarts;
  };
  EXPECT_EQ(restartsAfterWriting("/etc/kubernetes/config/kube-scheduler.yaml"),
            std::vector<std::string>{
                "kube-scheduler.service changed: /etc/kubernetes/config/kube-scheduler.yaml"});
  EXPECT_EQ(restartsAfterWriting("/etc/kubernetes/config/kube-scheduler"),
            std::vector<std::string>{});
  EXPECT_EQ(restartsAfterWriting("/etc/kubernetes/config/kube-scheduler.yam"),
            std::vector<std::string>{});
}

TEST_F(ControlPlaneServiceReconcilerTest, AUnitEditedByHandIsRewrittenAndTheServiceRestarted) {
  runtime::ProbeResult edited = after(diff(empty_), empty_);
  const std::string wanted = edited.files[kSchedulerUnit].sha256;
  edited.files[kSchedulerUnit].sha256 = runtime::sha256Hex("[Service]\nExecStart=/bin/true\n");
  const HostPlan plan = diff(edited);
  EXPECT_EQ(describe(plan), kRewriteUnitAndRestart);
  const Action* unit = find(plan, kSchedulerUnit);
  ASSERT_NE(unit, nullptr);
  EXPECT_EQ(runtime::sha256Hex(unit->content), wanted);  // the rendered unit, as before the edit
  EXPECT_EQ(unit->ifCurrentSha256, runtime::sha256Hex("[Service]\nExecStart=/bin/true\n"));
}

TEST_F(ControlPlaneServiceReconcilerTest, AStoppedServiceIsStartedWithoutRewritingAnything) {
  runtime::ProbeResult stopped = after(diff(empty_), empty_);
  stopped.units["kube-scheduler.service"].activeState = "failed";
  EXPECT_EQ(describe(diff(stopped)),
            std::vector<std::string>{"run kube-scheduler.service `systemctl start "
                                     "'kube-scheduler.service'` [start kube-scheduler #3] "
                                     "(failed)"});
}

// A unit that crashed and waits out RestartSec= is not running: it is started, and the plan says
// that systemd is already restarting it rather than a bare "activating".
TEST_F(ControlPlaneServiceReconcilerTest, AUnitSystemdRestartsIsStartedAndSaysSo) {
  runtime::ProbeResult restarting = after(diff(empty_), empty_);
  restarting.units["kube-scheduler.service"].activeState = "activating";
  restarting.units["kube-scheduler.service"].subState = "auto-restart";
  EXPECT_EQ(describe(diff(restarting)),
            std::vector<std::string>{"run kube-scheduler.service `systemctl start "
                                     "'kube-scheduler.service'` [start kube-scheduler #3] "
                                     "(exited, systemd restarts it)"});
  // The sub-states systemd 254 and later add around a restart.
  for (const char* sub : {"auto-restart-queued", "failed-before-auto-restart"}) {
    restarting.units["kube-scheduler.service"].subState = sub;
    ASSERT_EQ(diff(restarting).actions.size(), 1u);
    EXPECT_EQ(diff(restarting).actions[0].reason, "exited, systemd restarts it") << sub;
  }
}

// Through the engine on a fake host that acts systemd out: the end state is the files as
// rendered and both units enabled and running, and a second apply changes nothing.
TEST_F(ControlPlaneServiceReconcilerTest, ApplyOnAFakeHostConvergesAndTheSecondApplyDoesNothing) {
  auto fake = std::make_shared<testing::FakeHost>();
  fake->systemctl = true;
  auto first = applyOn(fake);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(first[0].failed());
  EXPECT_EQ(fake->files.at("/usr/local/bin/kube-scheduler").content, "scheduler build 1");
  EXPECT_EQ(fake->files.at("/usr/local/bin/kube-scheduler").spec.mode, 0755u);
  EXPECT_EQ(fake->files.at("/etc/kubernetes/config/kube-scheduler.yaml").content,
            "leaderElection:\n  leaderElect: true\n");
  EXPECT_EQ(fake->files.at(kSchedulerUnit).content, find(diff(empty_), kSchedulerUnit)->content);
  // Starts run without blocking, then each service's health check is awaited.
  const std::string curl = runtime::commandScript(first[0].plan.health.at("kube-scheduler").check);
  EXPECT_EQ(
      fake->actions,
      (std::vector<std::string>{
          "write /usr/local/bin/kube-controller-manager",
          "write /etc/systemd/system/kube-controller-manager.service",
          "write /usr/local/bin/kube-scheduler", "write /etc/kubernetes/config/kube-scheduler.yaml",
          std::string("write ") + kSchedulerUnit, "run systemctl daemon-reload",
          "run systemctl enable --quiet 'kube-controller-manager.service'",
          "run systemctl enable --quiet 'kube-scheduler.service'",
          "run systemctl start 'kube-controller-manager.service' --no-block",
          "run systemctl is-active --quiet 'kube-controller-manager.service'",
          "run systemctl start 'kube-scheduler.service' --no-block", "run " + curl}));

  for (const char* u : {"kube-controller-manager.service", "kube-scheduler.service"}) {
    EXPECT_EQ(fake->units[u].unitFileState, "enabled") << u;
    EXPECT_EQ(fake->units[u].activeState, "active") << u;
    EXPECT_EQ(fake->loadedUnitFiles[u],
              fake->files.at(std::string("/etc/systemd/system/") + u).content);
  }
  fake->actions.clear();
  auto second = applyOn(fake);
  EXPECT_TRUE(second[0].plan.converged()) << ::testing::PrintToString(describe(second[0].plan));
  EXPECT_EQ(fake->actions, std::vector<std::string>{});
}

// A changed flag on a host the first apply converged: the unit is rewritten, systemd reloads it
// before the restart (the fake refuses a restart of a unit changed since the last reload), and
// the service runs the new unit.
TEST_F(ControlPlaneServiceReconcilerTest, AChangedUnitIsReloadedBeforeItsRestartOnTheFakeHost) {
  auto fake = std::make_shared<testing::FakeHost>();
  fake->systemctl = true;
  ASSERT_FALSE(applyOn(fake)[0].failed());
  const std::string started = fake->units["kube-scheduler.service"].activeEnterTimestampMonotonic;
  for (auto& f : service("kube-scheduler").flags) {
    if (f.name == "v") f.value.value = "4";
  }
  fake->actions.clear();
  auto second = applyOn(fake);
  EXPECT_FALSE(second[0].failed());
  const std::vector<std::string> want = {std::string("write ") + kSchedulerUnit,
                                         "run systemctl daemon-reload",
                                         "run systemctl restart 'kube-scheduler.service'"};
  ASSERT_GE(fake->actions.size(), want.size());
  EXPECT_EQ(std::vector<std::string>(fake->actions.begin(), fake->actions.begin() + 3), want);
  EXPECT_NE(fake->loadedUnitFiles["kube-scheduler.service"].find("  --v=4\n"), std::string::npos);
  EXPECT_NE(fake->units["kube-scheduler.service"].activeEnterTimestampMonotonic, started);

  // Without the reload, the fake refuses the restart, as a plan that forgets it must fail.
  fake->files[kSchedulerUnit].content += "# edited\n";
  EXPECT_FALSE(fake->perform(runtime::HostCommand::unit(runtime::HostCommand::Kind::kRestartUnit,
                                                        "kube-scheduler.service"))
                   .ok());
}

}  // namespace
}  // namespace kthw::reconcilers
