// The haproxy configuration with an HTTPS health check, as the real haproxy reads it.
#include "reconcilers/load_balancer_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

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

TEST(LoadBalancerConfig, HaproxyServesARootOnlyAdminSocket) {
  auto o = loadBalancer("{fall: 3, rise: 2}");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  auto cfg = renderHaproxyConfig(o.state.loadBalancers.front(), {{"controller-0", "10.0.1.10"}});
  ASSERT_TRUE(cfg.ok());
  EXPECT_NE(cfg->find("\n    stats socket /run/haproxy/admin.sock mode 600 level admin\n"),
            std::string::npos)
      << *cfg;
  EXPECT_EQ(haproxyCheck(*cfg), "");
}

TEST(LoadBalancerConfig, BackendServiceNeedsHaproxyAndAServiceOfThatName) {
  const std::string lbDoc =
      "---\napiVersion: kthw.dev/v1alpha1\nkind: LoadBalancer\nmetadata: {name: kubernetes}\n"
      "spec:\n  implementation: IMPL\n  host: controller-0\n  frontend: {address: 10.0.1.30}\n"
      "  backends: {hosts: {selector: {role: controller}}, service: SERVICE}\n";
  auto load = [&](const std::string& impl, const std::string& service) {
    std::string doc = lbDoc;
    doc.replace(doc.find("IMPL"), 4, impl);
    doc.replace(doc.find("SERVICE"), 7, service);
    return resources::testing::loadText(std::string(resources::testing::kMinimalHosts) + doc);
  };
  auto unknown = load("haproxy", "kube-apiserver");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(resources::testing::joinErrors(unknown).find(
                "spec.backends.service: no ControlPlaneService named \"kube-apiserver\""),
            std::string::npos)
      << resources::testing::joinErrors(unknown);
  auto nginx = load("nginx", "kube-apiserver");
  ASSERT_FALSE(nginx.ok());
  EXPECT_NE(resources::testing::joinErrors(nginx).find(
                "spec.backends.service: needs implementation haproxy"),
            std::string::npos)
      << resources::testing::joinErrors(nginx);
  auto typo = load("haproxy", "\"kube apiserver\"");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(resources::testing::joinErrors(typo).find("spec.backends.service"), std::string::npos);
}

// A real haproxy, started from the rendered file on loopback with its admin socket in a
// temporary directory, and the script kthw runs on the load balancer's host.
class HaproxyAdminSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kthw-haproxy-admin-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    socket_ = dir_ + "/admin.sock";
    const int port = 20000 + ::getpid() % 20000;
    auto o = resources::testing::loadText(
        std::string(resources::testing::kMinimalHosts) +
        "---\napiVersion: kthw.dev/v1alpha1\nkind: LoadBalancer\nmetadata: {name: kubernetes}\n"
        "spec:\n  host: controller-0\n  frontend: {address: 127.0.0.1, port: " +
        std::to_string(port) + "}\n  backends: {hosts: {selector: {role: controller}}}\n");
    ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
    auto cfg = renderHaproxyConfig(o.state.loadBalancers.front(),
                                   {{"controller-0", "127.0.0.1"}, {"controller-1", "127.0.0.1"}});
    ASSERT_TRUE(cfg.ok());
    std::string text = *cfg;
    const std::string sock(kHaproxyAdminSocket);
    ASSERT_NE(text.find(sock), std::string::npos);
    text.replace(text.find(sock), sock.size(), socket_);
    text.replace(text.find("    log /dev/log local0\n"), 24, "");
    std::ofstream(dir_ + "/haproxy.cfg") << text;
    auto r = runtime::runProcess(
        {"haproxy", "-D", "-f", dir_ + "/haproxy.cfg", "-p", dir_ + "/haproxy.pid"}, "",
        std::chrono::seconds(30));
    ASSERT_TRUE(r.ok() && r->exitStatus == 0) << (r.ok() ? r->err : r.status().message());
    for (int i = 0; i < 100 && !std::filesystem::exists(socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(std::filesystem::exists(socket_));
  }
  void TearDown() override {
    std::ifstream pidFile(dir_ + "/haproxy.pid");
    pid_t pid = 0;
    if (pidFile >> pid && pid > 0) ::kill(pid, SIGTERM);
    std::filesystem::remove_all(dir_);
  }
  // The admin state haproxy reports for a server: 0 ready, 1 in maintenance (set by the CLI).
  std::string adminState(const std::string& server) {
    auto r = runtime::runProcess({"bash", "-c",
                                  "echo 'show servers state kubernetes-master-nodes' | socat stdio "
                                  "unix-connect:" +
                                      socket_ + " | awk '$4 == \"" + server + "\" {print $7}'"},
                                 "", std::chrono::seconds(10));
    return r.ok() ? r->out : r.status().message();
  }
  StatusOr<runtime::ExecResult> run(const std::string& server, const std::string& state) {
    auto command = haproxyServerState(server, state, socket_);
    if (!command.ok()) return command.status();
    return runtime::runProcess({"bash", "-c", runtime::commandScript(*command)}, "",
                               std::chrono::seconds(30));
  }

  std::string dir_;
  std::string socket_;
};

TEST_F(HaproxyAdminSocket, TheScriptTakesOneBackendOutOfRotationAndBack) {
  EXPECT_EQ(adminState("controller-0"), "0\n");
  auto out = run("controller-0", "maint");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->exitStatus, 0) << out->err;
  EXPECT_EQ(adminState("controller-0"), "1\n");
  EXPECT_EQ(adminState("controller-1"), "0\n");
  auto back = run("controller-0", "ready");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->exitStatus, 0) << back->err;
  EXPECT_EQ(adminState("controller-0"), "0\n");
}

TEST_F(HaproxyAdminSocket, AServerHaproxyDoesNotKnowFailsWithHaproxysAnswer) {
  auto out = run("controller-9", "maint");
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->exitStatus, 0);
  EXPECT_NE(out->err.find("haproxy refused: No such server."), std::string::npos) << out->err;
  EXPECT_EQ(adminState("controller-0"), "0\n");
}

TEST(LoadBalancerConfig, AServerNameHaproxysCommandLineWouldSplitIsRefused) {
  for (const std::string name : {"a;b", "a b", "a\\b", "", "a\nshow"}) {
    auto s = haproxyServerState(name, "maint");
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kthw::reconcilers
