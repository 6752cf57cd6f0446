// The route check through a load balancer's frontend.
#include "engine/route_checks.h"

#include <gtest/gtest.h>

#include "../../support/loopback.h"
#include "../resources/test_util.h"
#include "runtime/pki.h"

namespace kthw::engine {
namespace {

class RouteCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      testing::LoopbackListener closed;  // nothing listens on this port once it closes
      port_ = closed.port();
    }
    loaded_ = resources::testing::loadText(
        std::string(resources::testing::kMinimalHosts) +
        "---\napiVersion: kthw.dev/v1alpha1\nkind: CertificateBundle\nmetadata: {name: pki}\n"
        "spec:\n  authorities: [{name: ca, commonName: Kubernetes}]\n"
        "---\napiVersion: kthw.dev/v1alpha1\nkind: LoadBalancer\nmetadata: {name: kubernetes}\n"
        "spec:\n  host: controller-0\n  frontend: {address: 127.0.0.1, port: " +
        std::to_string(port_) +
        "}\n  backends: {hosts: {selector: {role: controller}}}\n"
        "  routeCheck: {certificateBundle: pki, authority: ca}\n");
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
  }
  int port_ = 0;
  resources::LoadOutcome loaded_;
};

// Before the first apply the authority does not exist: that is material to issue, not a load
// balancer that fails to route, so no verdict is given.
TEST_F(RouteCheckTest, AnAuthorityStillToBeIssuedLeavesTheRouteUnchecked) {
  std::map<std::string, reconcilers::BundleMaterial> material;
  material["pki"].pending.insert("ca");
  material["pki"].reasons["ca"] = "absent";
  EXPECT_TRUE(checkRoutes(loaded_.state, material).empty());
  EXPECT_TRUE(checkRoutes(loaded_.state, {}).empty()) << "no material for the bundle at all";
}

TEST_F(RouteCheckTest, WithItsAuthorityAFrontendThatDoesNotAnswerFails) {
  auto key = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  runtime::CertificateRequest ca;
  ca.commonName = "Kubernetes";
  ca.isCa = true;
  ca.validity = std::chrono::hours(24);
  auto pem = runtime::issueCertificate(ca, *key, "", *key, std::chrono::system_clock::now());
  ASSERT_TRUE(pem.ok());
  std::map<std::string, reconcilers::BundleMaterial> material;
  material["pki"].certificates["ca"] = *pem;
  const auto routes = checkRoutes(loaded_.state, material);
  ASSERT_EQ(routes.count("kubernetes"), 1u);
  EXPECT_FALSE(routes.at("kubernetes").ok());
  EXPECT_NE(routes.at("kubernetes").message().find(std::to_string(port_)), std::string::npos)
      << routes.at("kubernetes").message();
}

}  // namespace
}  // namespace kthw::engine
