// The haproxy configuration with an HTTPS health check, as the real haproxy reads it.
#include "reconcilers/load_balancer_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../resources/test_util.h"
#include "runtime/local_transport.h"

namespace kthw::reconcilers {
namespace {

resources::LoadOutcome loadBalancer(const std::string& healthCheck,
                                    const std::string& implementation = "haproxy") {
  return resources::testing::loadText(
      std::string(resources::testing::kMinimalHosts) +
      "---\napiVersion: kthw.dev/v1alpha1\nkind: LoadBalancer\nmetadata: {name: kubernetes}\n"
      "spec:\n  implementation: " +
      implementation +
      "\n  host: controller-0\n  frontend: {address: 10.0.1.30}\n"
      "  backends: {hosts: {selector: {role: controller}}}\n  healthCheck: " +
      healthCheck + "\n");
}

// haproxy -c on the rendered file; "" when the real haproxy accepts it.
std::string haproxyCheck(const std::string& cfg) {
  const std::string path = ::testing::TempDir() + "/kthw-haproxy-" + std::to_string(::getpid());
  std::ofstream(path) << cfg;
  auto r = runtime::runProcess({"haproxy", "-c", "-f", path}, "", std::chrono::seconds(30));
  std::filesystem::remove(path);
  if (!r.ok()) return r.status().message();
  return r->exitStatus == 0 ? "" : r->out + r->err;
}

TEST(LoadBalancerConfig, AnHttpsReadinessCheckSendsTheRealHaproxyAGetOfThePath) {
  auto o = loadBalancer("{fall: 3, rise: 2, httpPath: /readyz}");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  const resources::LoadBalancer& lb = o.state.loadBalancers.front();
  auto cfg = renderHaproxyConfig(lb, {{"controller-0", "10.0.1.10"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_NE(cfg->find("    option httpchk\n    http-check send meth GET uri /readyz\n"
                      "    http-check expect status 200\n"),
            std::string::npos)
      << *cfg;
  EXPECT_NE(cfg->find(" check fall 3 rise 2 check-ssl verify none\n"), std::string::npos) << *cfg;
  EXPECT_EQ(cfg->find("tcp-check"), std::string::npos);
  EXPECT_EQ(haproxyCheck(*cfg), "");
}

TEST(LoadBalancerConfig, WithoutAPathTheCheckIsATcpConnect) {
  auto o = loadBalancer("{fall: 3, rise: 2}");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  auto cfg = renderHaproxyConfig(o.state.loadBalancers.front(), {{"controller-0", "10.0.1.10"}});
  ASSERT_TRUE(cfg.ok());
  EXPECT_NE(cfg->find("    option tcp-check\n"), std::string::npos);
  EXPECT_EQ(cfg->find("httpchk"), std::string::npos);
  EXPECT_EQ(haproxyCheck(*cfg), "");
}

TEST(LoadBalancerConfig, NginxHasNoActiveCheckSoAnHttpPathIsRefused) {
  auto o = loadBalancer("{httpPath: /readyz}", "nginx");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(resources::testing::joinErrors(o).find(
                "spec.healthCheck.httpPath: needs implementation haproxy"),
            std::string::npos)
      << resources::testing::joinErrors(o);
  auto bad = loadBalancer("{httpPath: \"/readyz; } x\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(resources::testing::joinErrors(bad).find("spec.healthCheck.httpPath"),
            std::string::npos);
}

}  // namespace
}  // namespace kthw::reconcilers
