// The health-gated rollout of engine::applyHosts (engine/host_rollout.cpp) on three fake hosts,
// each with a restart of one service: one host at a time in host order, each behind its health
// check; a failed check stops the rollout, and an unhealthy member keeps the others up.
#include "engine/host_rollout.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "../../support/fake_host.h"
#include "../../support/manual_clock.h"
#include "../resources/test_util.h"

namespace kthw::engine {
namespace {

using reconcilers::Action;

const char* kThirdHost = R"(---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata:
  name: controller-2
  labels: {role: controller}
spec:
  address: 10.0.1.12
  ssh: {identityFile: /root/.ssh/id_ed25519}
)";

constexpr const char* kRestart = "systemctl restart 'svc.service'";
constexpr const char* kCheck = "systemctl is-active --quiet 'svc.service'";

// A service on every host whose diff is a restart on `restartOn` hosts, with a health check
// (one try: timeout 0) on all of them, as ControlPlaneServiceReconciler plans a changed unit.
class RestartReconciler : public reconcilers::HostScopedReconciler {
 public:
  std::set<std::string> restartOn;
  int healthTimeoutSeconds = 0;

  std::string kind() const override { return "ControlPlaneService"; }
  void observe(const resources::Host&, runtime::ProbeRequest&) const override {}
  void diff(const resources::Host& host, const runtime::ProbeResult&,
            reconcilers::HostPlan& plan) const override {
    plan.health["svc"] = {
        runtime::HostCommand::unit(runtime::HostCommand::Kind::kCheckUnitActive, "svc.service"),
        "svc healthz", healthTimeoutSeconds};
    if (restartOn.count(host.name()) == 0) return;
    Action a =
        reconcilers::makeAction(reconcilers::ActionType::kRunCommand, "ControlPlaneService/svc",
                                "svc.service", "restart svc.service", "changed: unit");
    a.command = runtime::HostCommand::unit(runtime::HostCommand::Kind::kRestartUnit, "svc.service");
    a.rollout = Action::Rollout::kRestart;
    a.rolloutGroup = "svc";
    a.rolloutOrder = 1;
    plan.actions.push_back(a);
  }
};

class HostRollout : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ =
        resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + kThirdHost);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    for (const resources::Host& h : loaded_.state.hosts) {
      auto fake = std::make_shared<testing::FakeHost>();
      const std::string name = h.name();
      // Every script, on one log across hosts; a health check answers as unhealthy_ says.
      fake->runResult = [this, name](const std::string& script) {
        std::lock_guard<std::mutex> lock(mu_);
        // The health check is logged as "check svc".
        log_.push_back(name + ": " + (script == kCheck ? std::string("check svc") : script));
        if (script == kRestart) restarted_.insert(name);
        if (script == kCheck && unhealthy_ && unhealthy_(name)) {
          return unavailable(name + " says no");
        }
        return okStatus();
      };
      fake->units["svc.service"] = {"loaded", "active", "running", "enabled", "1"};
      hosts_[name] = fake;
    }
    reconciler_.restartOn = {"controller-0", "controller-1", "controller-2"};
  }

  std::vector<HostOutcome> apply() {
    auto connect = [this](const resources::Host& h) { return hosts_.at(h.name()); };
    PassOptions options;
    options.clock = &clock_;
    return applyHosts(loaded_.state, {&reconciler_}, connect, options);
  }

  // Each host's one rollout result: "ok", "failed: ..." or "skipped: ...".
  static std::vector<std::string> results(const std::vector<HostOutcome>& outcomes) {
    std::vector<std::string> out;
    for (const HostOutcome& o : outcomes) {
      std::string line = o.host->name() + " ";
      for (const ActionResult& r : o.results) {
        line += r.skipped ? "skipped: " : r.status.ok() ? "ok" : "failed: ";
        line += r.status.message();
      }
      out.push_back(line);
    }
    return out;
  }

  bool wasRestarted(const std::string& host) { return restarted_.count(host) != 0; }

  resources::LoadOutcome loaded_;
  std::map<std::string, std::shared_ptr<testing::FakeHost>> hosts_;
  RestartReconciler reconciler_;
  std::mutex mu_;
  std::vector<std::string> log_;
  std::set<std::string> restarted_;
  std::function<bool(const std::string& host)> unhealthy_;
  testing::ManualClock clock_;
};

TEST_F(HostRollout, RestartsOneHostAtATimeInHostOrderEachBehindTheOthersHealth) {
  const auto outcomes = apply();
  EXPECT_EQ(log_, (std::vector<std::string>{
                      "controller-1: check svc", "controller-2: check svc",
                      "controller-0: systemctl restart 'svc.service'", "controller-0: check svc",
                      "controller-0: check svc", "controller-2: check svc",
                      "controller-1: systemctl restart 'svc.service'", "controller-1: check svc",
                      "controller-0: check svc", "controller-1: check svc",
                      "controller-2: systemctl restart 'svc.service'", "controller-2: check svc"}));
  EXPECT_EQ(results(outcomes),
            (std::vector<std::string>{"controller-0 ok", "controller-1 ok", "controller-2 ok"}));
  for (const HostOutcome& o : outcomes) EXPECT_FALSE(o.failed()) << o.host->name();
}

TEST_F(HostRollout, AFailedCheckAfterARestartStopsTheRollout) {
  // controller-1 does not come back from its restart.
  unhealthy_ = [this](const std::string& host) {
    return host == "controller-1" && wasRestarted(host);
  };
  const auto outcomes = apply();
  EXPECT_EQ(log_, (std::vector<std::string>{
                      "controller-1: check svc", "controller-2: check svc",
                      "controller-0: systemctl restart 'svc.service'", "controller-0: check svc",
                      "controller-0: check svc", "controller-2: check svc",
                      "controller-1: systemctl restart 'svc.service'", "controller-1: check svc"}));
  EXPECT_FALSE(wasRestarted("controller-2"));
  const std::string why = "not healthy after 0s (svc healthz): controller-1 says no";
  EXPECT_EQ(results(outcomes),
            (std::vector<std::string>{
                "controller-0 ok", "controller-1 failed: " + why,
                "controller-2 skipped: rollout of svc stopped after controller-1 failed: " + why}));
  ASSERT_EQ(outcomes[2].results.size(), 1u);
  EXPECT_EQ(outcomes[2].results[0].status.code(), StatusCode::kAborted);
  EXPECT_EQ(outcomes[2].results[0].action.summary, "restart svc.service");
  EXPECT_TRUE(outcomes[2].failed());
}

TEST_F(HostRollout, AMemberUnhealthyBeforeTheRolloutKeepsEveryOtherMemberUp) {
  unhealthy_ = [](const std::string& host) { return host == "controller-2"; };
  const auto outcomes = apply();
  // controller-0's turn waits for its peers, finds controller-2 down, and nobody restarts.
  EXPECT_EQ(log_, (std::vector<std::string>{"controller-1: check svc", "controller-2: check svc"}));
  EXPECT_TRUE(restarted_.empty());
  const std::string why =
      "skipped: rollout of svc stopped: member controller-2 is unhealthy, so no other member is "
      "taken down (not healthy after 0s (svc healthz): controller-2 says no)";
  EXPECT_EQ(results(outcomes),
            (std::vector<std::string>{"controller-0 " + why, "controller-1 " + why,
                                      "controller-2 " + why}));
}

TEST_F(HostRollout, AnUnhealthyMemberWithNoRestartOfItsOwnStillHoldsTheOthersBack) {
  reconciler_.restartOn = {"controller-0", "controller-1"};
  unhealthy_ = [](const std::string& host) { return host == "controller-2"; };
  const auto outcomes = apply();
  EXPECT_TRUE(restarted_.empty());
  EXPECT_EQ(results(outcomes)[2], "controller-2 ");  // nothing to do there
  EXPECT_TRUE(outcomes[0].failed());
  EXPECT_TRUE(outcomes[1].failed());
}

TEST_F(HostRollout, AnUnreachableMemberIsNotAwaited) {
  hosts_.at("controller-1")->unreachable = true;
  const auto outcomes = apply();
  EXPECT_EQ(log_, (std::vector<std::string>{
                      "controller-2: check svc", "controller-0: systemctl restart 'svc.service'",
                      "controller-0: check svc", "controller-0: check svc",
                      "controller-2: systemctl restart 'svc.service'", "controller-2: check svc"}));
  EXPECT_EQ(results(outcomes),
            (std::vector<std::string>{"controller-0 ok", "controller-1 ", "controller-2 ok"}));
  EXPECT_FALSE(outcomes[1].reach.ok());
}

// Health checks are polled once a second on the pass's clock until their timeout: a member that
// needs four more seconds after its restart gets them, one that never comes back fails after
// exactly its timeout, and neither wait takes real time.
TEST_F(HostRollout, HealthWaitsRunOnThePassClock) {
  reconciler_.healthTimeoutSeconds = 300;
  std::map<std::string, int> checksAfterRestart;
  unhealthy_ = [&](const std::string& host) {
    if (!wasRestarted(host)) return false;
    const int n = ++checksAfterRestart[host];
    return host == "controller-2" || (host == "controller-0" && n < 5);
  };
  const auto start = std::chrono::steady_clock::now();
  const auto outcomes = apply();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(
      results(outcomes),
      (std::vector<std::string>{
          "controller-0 ok", "controller-1 ok",
          "controller-2 failed: not healthy after 300s (svc healthz): controller-2 says no"}));
  // controller-0: four waits of a second; controller-2: a second at a time up to its timeout.
  EXPECT_EQ(clock_.sleeps().size(), 4u + 300u);
  EXPECT_EQ(clock_.elapsed(), std::chrono::seconds(304));
}

}  // namespace
}  // namespace kthw::engine
