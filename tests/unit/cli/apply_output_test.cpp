#include "cli/apply_output.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>

#include "../resources/test_util.h"
#include "cli/plan_output.h"

namespace kthw::cli {
namespace {

using engine::ActionResult;
using engine::HostOutcome;
using reconcilers::Action;
using reconcilers::ActionType;

constexpr const char* kSecret = "-----BEGIN PRIVATE KEY-----not-for-output";

Action writeAction(const std::string& path) {
  Action a = reconcilers::makeAction(ActionType::kWriteFile, "CertificateBundle/pki", path,
                                     "write " + path, "absent");
  a.content = kSecret;
  a.diff = std::string("+") + kSecret;
  return a;
}

class ApplyJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadText(resources::testing::kMinimalHosts);
    ASSERT_TRUE(loaded_.ok());
    HostOutcome changed;
    changed.host = &loaded_.state.hosts[0];
    changed.plan.host = "controller-0";
    changed.plan.transport = "ssh";
    changed.plan.addResource("CertificateBundle/pki");
    for (const char* p : {"/etc/a.pem", "/etc/b.pem", "/etc/c.pem"}) {
      changed.plan.actions.push_back(writeAction(p));
    }
    changed.plan.problems.push_back("flag --x refused");
    changed.results.push_back(ActionResult{changed.plan.actions[0], okStatus(), false});
    changed.results.push_back(
        ActionResult{changed.plan.actions[1], unavailable("connection lost"), false});
    changed.results.push_back(
        ActionResult{changed.plan.actions[2], unavailable("after /etc/b.pem failed"), true});
    HostOutcome refused;
    refused.host = &loaded_.state.hosts[1];
    refused.plan.host = "controller-1";
    refused.plan.transport = "ssh";
    refused.plan.actions.push_back(writeAction("/etc/d.pem"));
    refused.refused = "/etc/d.pem changed since the plan";
    report_.hosts = {changed, refused};
    report_.issued.push_back({"pki", "admin", "absent"});
    RbacOutcome rbac;
    rbac.server = "https://10.0.1.30:6443";
    rbac.identity = "CertificateBundle/pki kubeconfig admin";
    rbac.writes.push_back({"create", "ClusterRole", "reader", okStatus()});
    report_.rbac = rbac;
    report_.routes["kubernetes"] = unavailable("connection refused");
    const auto now = std::chrono::system_clock::now();
    for (const auto& o : report_.hosts) {
      engine::recordConditions(o, true, 0, now, report_.conditions);
    }
    report_.exitCode = 1;
  }

  rapidjson::Document parsed(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    EXPECT_FALSE(d.HasParseError()) << text;
    return d;
  }

  resources::LoadOutcome loaded_;
  ApplyReport report_;
};

TEST_F(ApplyJsonTest, GivesEachActionItsOutcomeAndError) {
  const std::string text = applyJson(report_);
  const rapidjson::Document d = parsed(text);
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d["exitCode"].GetInt(), 1);
  const auto& hosts = d["hosts"].GetArray();
  ASSERT_EQ(hosts.Size(), 2u);
  const auto& actions = hosts[0]["actions"].GetArray();
  ASSERT_EQ(actions.Size(), 3u);
  EXPECT_STREQ(actions[0]["outcome"].GetString(), "done");
  EXPECT_FALSE(actions[0].HasMember("error"));
  EXPECT_STREQ(actions[1]["outcome"].GetString(), "failed");
  EXPECT_STREQ(actions[1]["error"].GetString(), "connection lost");
  EXPECT_STREQ(actions[2]["outcome"].GetString(), "skipped");
  EXPECT_STREQ(actions[2]["target"].GetString(), "/etc/c.pem");
  EXPECT_TRUE(hosts[0]["failed"].GetBool());
  EXPECT_STREQ(hosts[0]["problems"][0].GetString(), "flag --x refused");
  const auto& totals = d["totals"];
  EXPECT_EQ(totals["hosts"].GetUint(), 2u);
  EXPECT_EQ(totals["changed"].GetUint(), 1u);
  EXPECT_EQ(totals["actionsDone"].GetUint(), 1u);
  EXPECT_EQ(totals["actionsFailed"].GetUint(), 1u);
  EXPECT_EQ(totals["actionsSkipped"].GetUint(), 1u);
  EXPECT_EQ(totals["notConverged"].Size(), 2u);
}

TEST_F(ApplyJsonTest, NamesRefusedHostsAndWhatWasNotRun) {
  const rapidjson::Document d = parsed(applyJson(report_));
  ASSERT_EQ(d["refused"].Size(), 1u);
  EXPECT_STREQ(d["refused"][0].GetString(), "controller-1");
  const auto& host = d["hosts"][1];
  EXPECT_STREQ(host["refused"].GetString(), "/etc/d.pem changed since the plan");
  ASSERT_EQ(host["actions"].Size(), 1u);
  EXPECT_STREQ(host["actions"][0]["outcome"].GetString(), "not-run");
}

TEST_F(ApplyJsonTest, ReportsRbacRoutesConditionsAndIssuedCertificates) {
  const rapidjson::Document d = parsed(applyJson(report_));
  EXPECT_STREQ(d["rbac"]["writes"][0]["action"].GetString(), "create");
  EXPECT_STREQ(d["rbac"]["writes"][0]["outcome"].GetString(), "done");
  EXPECT_TRUE(d["rbac"]["ok"].GetBool());
  EXPECT_STREQ(d["routes"][0]["loadBalancer"].GetString(), "kubernetes");
  EXPECT_FALSE(d["routes"][0]["answers"].GetBool());
  EXPECT_STREQ(d["issued"][0]["name"].GetString(), "admin");
  bool pkiSeen = false;
  for (const auto& c : d["conditions"].GetArray()) {
    if (std::string(c["resource"].GetString()) != "CertificateBundle/pki") continue;
    pkiSeen = true;
    EXPECT_FALSE(c["ready"].GetBool());
    EXPECT_GT(c["conditions"].Size(), 0u);
  }
  EXPECT_TRUE(pkiSeen);
}

TEST_F(ApplyJsonTest, NeverShowsContentOrDiffs) {
  const std::string text = applyJson(report_);
  EXPECT_EQ(text.find("not-for-output"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"diff\""), std::string::npos) << text;
}

TEST_F(ApplyJsonTest, ActionsHaveDiffsShapeWithAnOutcome) {
  std::ostringstream diffOut;
  report_.hosts[0].plan.actions[0].diff.clear();
  printPlansJson(report_.hosts, diffOut);
  const rapidjson::Document diff = parsed(diffOut.str());
  const rapidjson::Document apply = parsed(applyJson(report_));
  const auto& planned = diff["hosts"][0]["actions"][0];
  const auto& done = apply["hosts"][0]["actions"][0];
  for (auto m = planned.MemberBegin(); m != planned.MemberEnd(); ++m) {
    ASSERT_TRUE(done.HasMember(m->name)) << m->name.GetString();
    EXPECT_EQ(done[m->name], m->value) << m->name.GetString();
  }
  EXPECT_EQ(done.MemberCount(), planned.MemberCount() + 1);  // outcome
  for (const char* key : {"name", "transport", "reachable", "os", "kernel", "hostKey"}) {
    EXPECT_EQ(apply["hosts"][0][key], diff["hosts"][0][key]) << key;
  }
}

}  // namespace
}  // namespace kthw::cli
