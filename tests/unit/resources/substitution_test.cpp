#include "resources/substitution.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace kthw::resources {
namespace {

using testing::kMinimalHosts;
using testing::loadText;

const char* kLoadBalancer = R"(---
apiVersion: kthw.dev/v1alpha1
kind: LoadBalancer
metadata:
  name: kubernetes
spec:
  host: controller-0
  frontend: {address: 10.0.1.30}
  backends:
    hosts: {selector: {role: controller}}
)";

class SubstitutionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    outcome_ = loadText(std::string(kMinimalHosts) + kLoadBalancer);
    ASSERT_TRUE(outcome_.ok()) << testing::joinErrors(outcome_);
  }
  Text text(const std::string& value) { return Text{value, Mark{nullptr, 3, 5}, "f", value}; }
  const Host* host(const std::string& name) { return outcome_.state.findHost(name); }

  LoadOutcome outcome_;
};

TEST_F(SubstitutionTest, ResolvesHostFields) {
  Substituter sub(outcome_.state);
  Diagnostics d;
  EXPECT_EQ(sub.resolve(text("--advertise-address=${host.internalIP}"), host("controller-1"), d),
            "--advertise-address=10.0.1.11");
  EXPECT_EQ(sub.resolve(text("${host.name}/${host.labels.role}"), host("controller-0"), d),
            "controller-0/controller");
  EXPECT_TRUE(d.empty());
}

TEST_F(SubstitutionTest, JoinsSelectedHostsInNameOrder) {
  Substituter sub(outcome_.state);
  Diagnostics d;
  EXPECT_EQ(sub.resolve(text("${join(hosts(role=controller), 'https://{internalIP}:2379', ',')}"),
                        nullptr, d),
            "https://10.0.1.10:2379,https://10.0.1.11:2379");
  EXPECT_EQ(
      sub.resolve(text("${join(hosts(role=controller), '{name}=https://{address}:2380', ',')}"),
                  nullptr, d),
      "controller-0=https://10.0.1.10:2380,controller-1=https://10.0.1.11:2380");
  EXPECT_TRUE(d.empty());
}

TEST_F(SubstitutionTest, ExpandsListItems) {
  Substituter sub(outcome_.state);
  Diagnostics d;
  auto list = sub.resolveList(text("${hosts(role=controller).internalIP}"), nullptr, d);
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (std::vector<std::string>{"10.0.1.10", "10.0.1.11"}));
}

TEST_F(SubstitutionTest, ResolvesLoadBalancerAndEscapes) {
  Substituter sub(outcome_.state);
  Diagnostics d;
  EXPECT_EQ(sub.resolve(
                text("https://${loadBalancer.kubernetes.address}:${loadBalancer.kubernetes.port}"),
                nullptr, d),
            "https://10.0.1.30:6443");
  EXPECT_EQ(sub.resolve(text("$${HOME} and $PATH"), nullptr, d), "${HOME} and $PATH");
  EXPECT_TRUE(d.empty());
}

TEST_F(SubstitutionTest, ReportsTheColumnOfABadReference) {
  Substituter sub(outcome_.state);
  Diagnostics d;
  EXPECT_FALSE(sub.resolve(text("x=${host.nosuch}"), host("controller-0"), d));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.column, 7);
  EXPECT_NE(d[0].message.find("host has no field \"nosuch\""), std::string::npos);
}

TEST_F(SubstitutionTest, RejectsWhatCannotBeResolved) {
  Substituter sub(outcome_.state);
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"${host.name}", "needs a host"},
      {"${hosts(role=worker).internalIP}", "matches no Host"},
      {"${loadBalancer.other.address}", "no LoadBalancer named \"other\""},
      {"${loadBalancer.kubernetes.zone}", "has no field \"zone\""},
      {"${join(hosts(role=controller), '{bogus}', ',')}", "{bogus} is not a host field"},
      {"${join(hosts(role=controller))}", "expected join(hosts(SELECTOR)"},
      {"${hosts(role=controller).internalIP}", "is a list"},
      {"${unclosed", "unclosed ${"},
      {"${frobnicate}", "unknown substitution"},
  };
  for (const Case& c : cases) {
    Diagnostics d;
    EXPECT_FALSE(sub.resolve(text(c.text), nullptr, d)) << c.text;
    ASSERT_EQ(d.size(), 1u) << c.text;
    EXPECT_NE(d[0].message.find(c.message), std::string::npos) << c.text << ": " << d[0].message;
  }
}

}  // namespace
}  // namespace kthw::resources
