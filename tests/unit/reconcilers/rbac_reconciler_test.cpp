#include "reconcilers/rbac_reconciler.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "../../support/apiserver_sim/tls_server.h"
#include "../../support/fake_api_client.h"
#include "../../support/loopback.h"
#include "../resources/test_util.h"
#include "runtime/pki.h"

namespace kthw::reconcilers {
namespace {

const char* kBinding = R"(apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:kube-apiserver
  namespace: ""
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:kube-apiserver-to-kubelet
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: kubernetes
)";

std::string desired() {
  auto o = resources::testing::loadText(kBinding);
  EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  return desiredRbacJson(o.state.rbac.at(0));
}

TEST(RbacReconciler, DesiredObjectsCarryTheManagedByLabelAndNoNamespace) {
  const std::string json = desired();
  EXPECT_NE(json.find(R"("app.kubernetes.io/managed-by":"kthw")"), std::string::npos) << json;
  EXPECT_EQ(json.find("namespace"), std::string::npos);
}

TEST(RbacReconciler, TheBodySaysTheVersionOfThePathItIsSentTo) {
  auto o = resources::testing::loadText(kBinding);
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::RbacObject binding = o.state.rbac.at(0);
  binding.document.find("apiVersion")->scalar = "rbac.authorization.k8s.io/v1beta1";
  const std::string json = desiredRbacJson(binding);
  EXPECT_NE(json.find(R"("apiVersion":"rbac.authorization.k8s.io/v1",)"), std::string::npos)
      << json;
  EXPECT_EQ(*rbacPath("ClusterRoleBinding"),
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings");
}

TEST(RbacReconciler, IgnoresServerFieldsAndDefaulting) {
  // As the API returns it: server metadata, kubectl's annotation, an extra label, and the
  // subject's apiGroup left to defaulting in the desired state.
  const std::string observed =
      R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
    "metadata":{"name":"system:kube-apiserver","uid":"1","resourceVersion":"42","creationTimestamp":"x",
      "labels":{"app.kubernetes.io/managed-by":"kthw","extra":"y"},
      "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:kube-apiserver-to-kubelet"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"kubernetes"}]})";
  EXPECT_TRUE(rbacSemanticallyEqual(desired(), observed));
  std::string noGroup = desired();
  noGroup.replace(noGroup.find(R"("apiGroup":"rbac.authorization.k8s.io","kind":"User")"),
                  std::string(R"("apiGroup":"rbac.authorization.k8s.io",)").size(), "");
  EXPECT_TRUE(rbacSemanticallyEqual(noGroup, observed));
}

TEST(RbacReconciler, SeesChangedSubjectsRoleRefAndMissingLabel) {
  const std::string base =
      R"({"metadata":{"name":"system:kube-apiserver","labels":{"app.kubernetes.io/managed-by":"kthw"}},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:kube-apiserver-to-kubelet"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"kubernetes"}]})";
  EXPECT_TRUE(rbacSemanticallyEqual(desired(), base));
  std::string otherUser = base;
  otherUser.replace(otherUser.rfind("kubernetes"), 10, "someone");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), otherUser));
  std::string otherRole = base;
  otherRole.replace(otherRole.find("system:kube-apiserver-to-kubelet"), 32, "cluster-admin");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), otherRole));
  std::string unlabelled = base;
  unlabelled.replace(unlabelled.find(R"("app.kubernetes.io/managed-by":"kthw")"), 36, "");
  EXPECT_FALSE(rbacSemanticallyEqual(desired(), unlabelled));
}

TEST(RbacReconciler, ShowsObjectsAsYaml) {
  EXPECT_EQ(
      jsonToYaml(
          R"({"metadata":{"name":"x","uid":"1"},"rules":[{"verbs":["*"],"resources":["nodes/proxy"]}]})"),
      "metadata:\n  name: x\nrules:\n  - verbs:\n      - \"*\"\n    resources:\n      - "
      "nodes/proxy\n");
}

// Against a small API server that keeps objects in memory and records every write.
class RbacAgainstApiServer : public ::testing::Test {
 protected:
  struct Write {
    std::string method;
    std::string target;
    std::string body;
  };

  static void SetUpTestSuite() {
    const std::string dir = ::testing::TempDir() + "/kthw-rbac-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    const auto now = std::chrono::system_clock::now();
    auto caKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest ca;
    ca.commonName = "kubernetes";
    ca.isCa = true;
    ca.validity = std::chrono::hours(24);
    caPem_ = *runtime::issueCertificate(ca, *caKey, "", *caKey, now);
    auto serverKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest server;
    server.commonName = "kube-apiserver";
    server.ipAddresses = {"127.0.0.1"};
    server.serverAuth = true;
    server.validity = std::chrono::hours(24);
    std::ofstream(dir + "/server.pem")
        << *runtime::issueCertificate(server, *serverKey, caPem_, *caKey, now);
    std::ofstream(dir + "/server.key") << serverKey->pem;
    auto adminKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest admin;
    admin.commonName = "admin";
    admin.organizations = {"system:masters"};
    admin.clientAuth = true;
    admin.validity = std::chrono::hours(24);
    adminPem_ = *runtime::issueCertificate(admin, *adminKey, caPem_, *caKey, now);
    adminKeyPem_ = adminKey->pem;
    port_ = kthw::testing::freeLoopbackPort();
    std::thread([dir] {
      sim::TlsServerConfig cfg;
      cfg.address = "127.0.0.1";
      cfg.port = port_;
      cfg.certFile = dir + "/server.pem";
      cfg.keyFile = dir + "/server.key";
      sim::serveTls(cfg, handle);
    }).detach();
    // Until it accepts connections: a loaded machine may take a while to start it.
    for (int i = 0; i < 200; ++i) {
      const int fd = kthw::testing::connectLoopback(port_);
      if (fd >= 0) {
        ::close(fd);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static void TearDownTestSuite() { EXPECT_TRUE(sim::awaitNoOpenConnections()); }

  void SetUp() override {
    std::lock_guard<std::mutex> lock(mu_);
    objects_.clear();
    writes_.clear();
  }

  // GET of an object or (with a label selector) its collection; POST and PUT store the body.
  static sim::Response handle(const sim::Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string path = kthw::testing::percentDecoded(r.target.substr(0, r.target.find('?')));
    if (r.method == "GET" && r.target.find("?labelSelector=") != std::string::npos) {
      std::string items;
      for (const auto& [p, body] : objects_) {
        if (p.starts_with(path + "/")) items += (items.empty() ? "" : ",") + body;
      }
      return {200, R"({"items":[)" + items + "]}"};
    }
    if (r.method == "GET") {
      auto it = objects_.find(path);
      return it == objects_.end() ? sim::Response{404, R"({"reason":"NotFound"})"}
                                  : sim::Response{200, it->second};
    }
    writes_.push_back({r.method, path, r.body});
    rapidjson::Document body;
    body.Parse(r.body.c_str());
    const std::string name = body["metadata"]["name"].GetString();
    objects_[r.method == "POST" ? path + "/" + name : path] = r.body;
    return {r.method == "POST" ? 201 : 200, r.body};
  }

  static std::vector<Write> takeWrites() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(writes_, {});
  }

  runtime::ApiCredentials credentials() const {
    return {"https://127.0.0.1:" + std::to_string(port_), caPem_, adminPem_, adminKeyPem_, "test"};
  }

  static inline std::mutex mu_;
  static inline std::map<std::string, std::string> objects_;  // by path
  static inline std::vector<Write> writes_;
  static inline int port_ = 0;
  static inline std::string caPem_;
  static inline std::string adminPem_;
  static inline std::string adminKeyPem_;
};

TEST_F(RbacAgainstApiServer, PostsV1beta1DocumentsAsV1) {
  const std::string yaml = R"(apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRole
metadata: {name: system:kube-apiserver-to-kubelet}
rules: [{apiGroups: [""], resources: [nodes/proxy], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: ClusterRoleBinding
metadata: {name: system:kube-apiserver, namespace: ""}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kube-apiserver-to-kubelet}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kubernetes}]
)";
  auto o = resources::testing::loadText(yaml, "rbac.yaml");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  ASSERT_EQ(o.warnings.size(), 2u);
  // The ClusterRole is there with other rules (an update); the binding is not (a create).
  std::unique_lock<std::mutex> seeding(mu_);
  objects_["/apis/rbac.authorization.k8s.io/v1/clusterroles/system:kube-apiserver-to-kubelet"] =
      R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",)"
      R"("metadata":{"name":"system:kube-apiserver-to-kubelet","resourceVersion":"7",)"
      R"("labels":{"app.kubernetes.io/managed-by":"kthw"}},"rules":[]})";
  seeding.unlock();
  runtime::HttpsApiClient api(credentials());
  auto plan = planRbac(o.state, api);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->actions.size(), 2u);
  for (const Status& s : applyRbac(*plan, api)) EXPECT_TRUE(s.ok()) << s.message();

  const std::vector<Write> writes = takeWrites();
  ASSERT_EQ(writes.size(), 2u);
  std::map<std::string, std::string> methods;  // target -> method
  for (const Write& w : writes) {
    methods[w.target] = w.method;
    rapidjson::Document body;
    body.Parse(w.body.c_str());
    ASSERT_FALSE(body.HasParseError()) << w.body;
    EXPECT_STREQ(body["apiVersion"].GetString(), "rbac.authorization.k8s.io/v1") << w.body;
    EXPECT_EQ(w.body.find("v1beta1"), std::string::npos) << w.body;
  }
  EXPECT_EQ(methods["/apis/rbac.authorization.k8s.io/v1/clusterroles/"
                    "system:kube-apiserver-to-kubelet"],
            "PUT");
  EXPECT_EQ(methods["/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"], "POST");

  // Converged: a second plan has nothing to do.
  auto again = planRbac(o.state, api);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->actions.empty());
  EXPECT_TRUE(takeWrites().empty());
}

}  // namespace
}  // namespace kthw::reconcilers
