#include "engine/conditions.h"

#include <gtest/gtest.h>

#include "../resources/test_util.h"
#include "engine/host_pass.h"

namespace kthw::engine {
namespace {

using Clock = std::chrono::system_clock;

TEST(ConditionSet, TransitionTimeMovesOnlyWhenTheStatusChanges) {
  ConditionSet c;
  const auto t0 = Clock::time_point(std::chrono::seconds(1000));
  c.set("Ready", ConditionStatus::kFalse, "Drifted", "1 change", 1, t0);
  c.set("Ready", ConditionStatus::kFalse, "Drifted", "2 changes", 2, t0 + std::chrono::seconds(5));
  EXPECT_EQ(c.get("Ready")->lastTransitionTime, t0);
  EXPECT_EQ(c.get("Ready")->message, "2 changes");
  EXPECT_EQ(c.get("Ready")->observedGeneration, 2);
  c.set("Ready", ConditionStatus::kTrue, "Converged", "", 2, t0 + std::chrono::seconds(9));
  EXPECT_EQ(c.get("Ready")->lastTransitionTime, t0 + std::chrono::seconds(9));
}

TEST(RecordConditions, TheWorstHostDecidesAndUnreachableIsDegraded) {
  auto loaded = resources::testing::loadText(resources::testing::kMinimalHosts);
  ASSERT_TRUE(loaded.ok());
  HostOutcome good;
  good.host = &loaded.state.hosts[0];
  good.plan.addResource("CertificateBundle/pki");
  HostOutcome failing;
  failing.host = &loaded.state.hosts[1];
  reconcilers::Action a = makeAction(reconcilers::ActionType::kWriteFile, "CertificateBundle/pki",
                                     "/x", "write /x", "absent");
  failing.plan.actions.push_back(a);
  failing.results.push_back(ActionResult{a, unavailable("connection lost"), false});
  std::map<std::string, ConditionSet> byResource;
  const auto now = Clock::now();
  recordConditions(good, true, 0, now, byResource);
  recordConditions(failing, true, 0, now, byResource);
  const ConditionSet& pki = byResource.at("CertificateBundle/pki");
  EXPECT_EQ(pki.get("Ready")->status, ConditionStatus::kFalse);
  EXPECT_EQ(pki.get("Ready")->reason, "ApplyFailed");
  EXPECT_EQ(pki.get("Degraded")->status, ConditionStatus::kTrue);
  EXPECT_EQ(byResource.at("Host/controller-0").get("Ready")->status, ConditionStatus::kTrue);

  HostOutcome down;
  down.host = &loaded.state.hosts[1];
  down.reach = unavailable("no route");
  std::map<std::string, ConditionSet> second;
  recordConditions(down, false, 0, now, second);
  EXPECT_EQ(second.at("Host/controller-1").get("Degraded")->reason, "Unreachable");
}

}  // namespace
}  // namespace kthw::engine
