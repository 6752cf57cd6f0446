// How apply meets the API server after its host pass.
#include "engine/api_access.h"

#include <gtest/gtest.h>

#include "../../support/fake_api_client.h"
#include "../../support/loopback.h"
#include "../../support/manual_clock.h"
#include "../resources/test_util.h"

namespace kthw::engine {
namespace {

const char* kState = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: controller-0, labels: {role: controller}}
spec: {address: 10.0.1.10, ssh: {identityFile: /k}}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: controller-1, labels: {role: controller}}
spec: {address: 10.0.1.11, ssh: {identityFile: /k}}
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: lb-0, labels: {role: lb}}
spec: {address: 10.0.1.30, ssh: {identityFile: /k}}
---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-apiserver}
spec:
  component: kube-apiserver
  hosts: {selector: {role: controller}}
  binary: {path: /usr/local/bin/kube-apiserver}
  flags: {advertise-address: "${host.internalIP}"}
)";

class PlanApiWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadText(kState);
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
  }
  // One outcome per host: "ok", "down" (unreachable) or "failed" (an action failed).
  std::vector<engine::HostOutcome> outcomes(const std::vector<std::string>& states) {
    std::vector<engine::HostOutcome> out;
    const char* names[] = {"controller-0", "controller-1", "lb-0"};
    for (size_t i = 0; i < states.size(); ++i) {
      engine::HostOutcome o;
      o.host = loaded_.state.findHost(names[i]);
      if (states[i] == "down") o.reach = unavailable("cannot connect");
      if (states[i] == "failed") {
        reconcilers::Action a;
        a.summary = "write /x";
        o.results.push_back({a, unavailable("disk full"), false});
      }
      out.push_back(std::move(o));
    }
    return out;
  }
  resources::LoadOutcome loaded_;
};

TEST_F(PlanApiWaitTest, WaitsWhenAnApiserverHostConverged) {
  EXPECT_FALSE(planApiWait(loaded_.state, outcomes({"ok", "down", "ok"})).checkOnce);
  EXPECT_FALSE(planApiWait(loaded_.state, outcomes({"failed", "ok", "down"})).checkOnce);
}

TEST_F(PlanApiWaitTest, WaitsWhenNoHostWasPartOfTheRun) {
  EXPECT_FALSE(planApiWait(loaded_.state, {}).checkOnce);
}

TEST_F(PlanApiWaitTest, ChecksOnceWhenNoHostCouldBeReached) {
  const ApiWaitPlan plan = planApiWait(loaded_.state, outcomes({"down", "down", "down"}));
  EXPECT_TRUE(plan.checkOnce);
  EXPECT_EQ(plan.reason, "no host could be reached");
}

TEST_F(PlanApiWaitTest, ChecksOnceWhenNoApiserverHostWasReached) {
  const ApiWaitPlan plan = planApiWait(loaded_.state, outcomes({"down", "down", "ok"}));
  EXPECT_TRUE(plan.checkOnce);
  EXPECT_EQ(plan.reason, "no kube-apiserver host could be reached (controller-0, controller-1)");
}

TEST_F(PlanApiWaitTest, ChecksOnceWhenNoApiserverHostConverged) {
  const ApiWaitPlan plan = planApiWait(loaded_.state, outcomes({"failed", "down", "ok"}));
  EXPECT_TRUE(plan.checkOnce);
  EXPECT_EQ(plan.reason, "no kube-apiserver host converged (controller-0, controller-1)");
}

TEST_F(PlanApiWaitTest, WaitsForAnApiServerThisStateDoesNotRun) {
  loaded_.state.services.clear();
  EXPECT_FALSE(planApiWait(loaded_.state, outcomes({"failed", "ok", "ok"})).checkOnce);
}

// A zero timeout is one check: no backoff, no sleep, and a message without "within 0s".
TEST(WaitForApiServer, AZeroTimeoutChecksOnceAndReturnsAtOnce) {
  int port = 0;
  {
    testing::LoopbackListener closed;  // a port nobody listens on once this closes
    port = closed.port();
  }
  runtime::ApiCredentials creds;
  creds.server = "https://127.0.0.1:" + std::to_string(port);
  runtime::HttpsApiClient api(creds);
  int waits = 0;
  const auto start = std::chrono::steady_clock::now();
  Status s = waitForApiServer(api, std::chrono::seconds(0),
                              [&](const Status&, std::chrono::milliseconds) { ++waits; });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(waits, 0);
  EXPECT_NE(s.message().find("the API server at " + creds.server + " is not ready"),
            std::string::npos)
      << s.message();
}

// The wait runs on the injected clock: five minutes of an API server that never answers end at
// the deadline, each step of the backoff heard by onWait and slept on that clock, in no time.
TEST(WaitForApiServer, BacksOffOnTheInjectedClockUntilItsDeadline) {
  testing::FakeApiClient api;
  api.readiness = unavailable("connection refused");
  testing::ManualClock clock;
  std::vector<std::chrono::milliseconds> heard;
  const auto start = std::chrono::steady_clock::now();
  Status s = waitForApiServer(
      api, std::chrono::seconds(300),
      [&](const Status&, std::chrono::milliseconds d) { heard.push_back(d); }, clock);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("was not ready within 300s: connection refused"), std::string::npos)
      << s.message();
  EXPECT_EQ(clock.sleeps(), heard);
  // It gives up only when the next step (at most 8 s) would pass the deadline.
  EXPECT_LE(clock.elapsed(), std::chrono::seconds(300));
  EXPECT_GT(clock.elapsed(), std::chrono::seconds(292));
  // Full jitter over a step that doubles from 500 ms up to 8 s.
  std::chrono::milliseconds step(500);
  for (const auto& d : heard) {
    EXPECT_GE(d, step / 2);
    EXPECT_LE(d, step);
    step = std::min(step * 2, std::chrono::milliseconds(8000));
  }
}

// An API server that answers after three misses: three waits, then ready.
TEST(WaitForApiServer, ReturnsOnceTheServerIsReady) {
  struct LateApi : testing::FakeApiClient {
    int misses = 3;
    Status ready() override { return misses-- > 0 ? unavailable("starting") : okStatus(); }
  } api;
  testing::ManualClock clock;
  Status s = waitForApiServer(api, std::chrono::seconds(300), nullptr, clock);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(clock.sleeps().size(), 3u);
  EXPECT_LT(clock.elapsed(), std::chrono::milliseconds(3500));
}

}  // namespace
}  // namespace kthw::engine
