// Request targets built from hostile names: the exact target string, segment by segment.
#include "runtime/url_path.h"

#include <gtest/gtest.h>

#include "reconcilers/load_balancer_reconciler.h"
#include "reconcilers/rbac_reconciler.h"
#include "runtime/https_client.h"

namespace kthw::runtime {
namespace {

TEST(UrlPath, PercentEncodesEverythingButUnreservedCharacters) {
  EXPECT_EQ(percentEncode("system:kube-apiserver_1.2~x"), "system%3Akube-apiserver_1.2~x");
  EXPECT_EQ(percentEncode("a b?c#d/e%f\r\n"), "a%20b%3Fc%23d%2Fe%25f%0D%0A");
  EXPECT_EQ(percentEncode("caf\xC3\xA9"), "caf%C3%A9");
}

TEST(UrlPath, RefusesDotAndEmptySegments) {
  EXPECT_FALSE(urlPath({}).ok());
  EXPECT_FALSE(urlPath({"apis", ".."}).ok());
  EXPECT_FALSE(urlPath({"apis", "."}).ok());
  EXPECT_FALSE(urlPath({"apis", ""}).ok());
  EXPECT_EQ(urlPath({"a", "..."}).value(), "/a/...");
}

TEST(UrlPath, RbacTargetsEncodeTheName) {
  EXPECT_EQ(reconcilers::rbacPath("ClusterRole").value(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles");
  EXPECT_EQ(reconcilers::rbacPath("ClusterRoleBinding", "system:kube-apiserver").value(),
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system%3Akube-apiserver");
  EXPECT_EQ(reconcilers::rbacPath("ClusterRole", "a b?watch=1#x\r\nX-Evil: 1").value(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/"
            "a%20b%3Fwatch%3D1%23x%0D%0AX-Evil%3A%201");
  EXPECT_EQ(reconcilers::rbacPath("ClusterRole", "../../api/v1/secrets").value(),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/..%2F..%2Fapi%2Fv1%2Fsecrets");
  EXPECT_FALSE(reconcilers::rbacPath("ClusterRole", "..").ok());
}

TEST(UrlPath, RouteCheckTargetKeepsThePathAndEncodesTheRest) {
  resources::LoadBalancer lb;
  lb.frontendAddress = "10.0.1.30";
  lb.frontendPort = 6443;
  lb.routePath = "/version";
  EXPECT_EQ(reconcilers::routeCheckUrl(lb).value(), "https://10.0.1.30:6443/version");
  lb.routePath = "/api/v1/namespaces/kube-system";
  EXPECT_EQ(reconcilers::routeCheckUrl(lb).value(),
            "https://10.0.1.30:6443/api/v1/namespaces/kube-system");
  lb.routePath = "/version?watch=1#x y\r\nHost: evil";
  EXPECT_EQ(reconcilers::routeCheckUrl(lb).value(),
            "https://10.0.1.30:6443/version%3Fwatch%3D1%23x%20y%0D%0AHost%3A%20evil");
  lb.routePath = "/../secret";
  EXPECT_FALSE(reconcilers::routeCheckUrl(lb).ok());
}

TEST(UrlPath, TheClientRefusesATargetARequestLineCannotCarry) {
  EXPECT_EQ(parseHttpsUrl("https://h:1/a%20b").value().target, "/a%20b");
  EXPECT_FALSE(parseHttpsUrl("https://h:1/a b").ok());
  EXPECT_FALSE(parseHttpsUrl("https://h:1/a\r\nHost: x").ok());
  EXPECT_FALSE(parseHttpsUrl("https://h:1/a#frag").ok());
}

}  // namespace
}  // namespace kthw::runtime
