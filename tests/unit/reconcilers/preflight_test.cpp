// Preflight problems: ports held by other processes, missing commands, swap and clock skew.
#include "reconcilers/preflight.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "reconcilers/control_plane_service_reconciler.h"
#include "reconcilers/load_balancer_reconciler.h"
#include "resources/desired_state.h"

namespace kthw::reconcilers {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

size_t countContaining(const std::vector<std::string>& v, const std::string& part) {
  return static_cast<size_t>(std::count_if(
      v.begin(), v.end(), [&](const std::string& s) { return s.find(part) != std::string::npos; }));
}

bool starts(const HostPlan& plan, const std::string& unit) {
  return std::any_of(plan.actions.begin(), plan.actions.end(), [&](const Action& a) {
    return a.target == unit && a.summary == "start " + unit;
  });
}

class Preflight : public ::testing::Test {
 protected:
  void SetUp() override {
    std::istringstream none;
    loaded_ = resources::loadDesiredState({KTHW_SOURCE_DIR "/examples/ha-cluster"}, none);
    ASSERT_TRUE(loaded_.ok());
    controller_ = loaded_.state.findHost("controller-0");
    lbHost_ = loaded_.state.findHost("lb-0");
    ASSERT_NE(controller_, nullptr);
    ASSERT_NE(lbHost_, nullptr);
    // A fresh host with everything kthw needs and nothing listening.
    observed_.systemctlAvailable = true;
    observed_.listenersKnown = true;
    for (const char* c : {"curl", "etcd", "systemctl", "haproxy", "nginx"}) {
      observed_.commands[c] = true;
    }
    observed_.swapOn = false;
  }

  HostPlan diffServices() {
    ControlPlaneServiceReconciler r(loaded_.state, binaries_);
    HostPlan plan;
    r.diff(*controller_, observed_, plan);
    return plan;
  }

  HostPlan diffLoadBalancer(const resources::Host& host) {
    LoadBalancerReconciler r(loaded_.state, routes_);
    HostPlan plan;
    r.diff(host, observed_, plan);
    return plan;
  }

  resources::ControlPlaneService& service(const std::string& name) {
    for (auto& s : loaded_.state.services) {
      if (s.name() == name) return s;
    }
    throw std::runtime_error("no service " + name);
  }

  resources::LoadOutcome loaded_;
  const resources::Host* controller_ = nullptr;
  const resources::Host* lbHost_ = nullptr;
  std::map<std::string, BinarySource> binaries_;
  std::map<std::string, Status> routes_;
  runtime::ProbeResult observed_;
};

TEST_F(Preflight, ServicesAskForTheirPortsFromFlagsAndDefaults) {
  ControlPlaneServiceReconciler r(loaded_.state, binaries_);
  runtime::ProbeRequest request;
  r.observe(*controller_, request);
  for (int port : {2379, 2380, 6443, 10257, 10259}) {
    EXPECT_NE(std::find(request.ports.begin(), request.ports.end(), port), request.ports.end())
        << port;
  }
  EXPECT_NE(std::find(request.commands.begin(), request.commands.end(), "curl"),
            request.commands.end());
  EXPECT_FALSE(request.swap);  // no kubelet here
}

TEST_F(Preflight, PortHeldByAnotherProcessIsAProblemAndTheServiceIsNotStarted) {
  observed_.listeners.push_back({2379, "812", "python3", "session-3.scope"});
  const HostPlan plan = diffServices();
  EXPECT_TRUE(has(plan.problems,
                  "ControlPlaneService/etcd: preflight: port 2379 is held by python3 (pid 812, "
                  "session-3.scope); stop it or change the port"));
  EXPECT_FALSE(starts(plan, "etcd.service"));
  EXPECT_TRUE(starts(plan, "kube-apiserver.service"));  // the others go ahead
}

TEST_F(Preflight, PortHeldByTheServiceItselfIsFine) {
  observed_.listeners.push_back({2379, "812", "etcd", "etcd.service"});
  observed_.listeners.push_back({6443, "900", "kube-apiserver", "kube-apiserver.service"});
  const HostPlan plan = diffServices();
  EXPECT_EQ(countContaining(plan.problems, "preflight"), 0u);
}

// Without root, ss does not name another user's process: the service's own while it runs.
TEST_F(Preflight, UnnamedListenerCountsOnlyWhileTheServiceRuns) {
  observed_.listeners.push_back({2379, "", "", ""});
  EXPECT_EQ(countContaining(diffServices().problems, "port 2379"), 1u);
  observed_.units["etcd.service"] = {"loaded", "active", "running", "enabled", "1"};
  EXPECT_EQ(countContaining(diffServices().problems, "port 2379"), 0u);
}

TEST_F(Preflight, AllProblemsInOneRun) {
  observed_.commands["curl"] = false;
  observed_.listeners.push_back({2379, "812", "python3", "session-3.scope"});
  observed_.listeners.push_back({10259, "813", "nc", "user@0.service"});
  const HostPlan plan = diffServices();
  EXPECT_TRUE(has(plan.problems,
                  "ControlPlaneService/etcd: preflight: curl is missing (the health check uses "
                  "it); install curl"));
  EXPECT_EQ(countContaining(plan.problems, "curl is missing"), 4u);  // every service's check
  EXPECT_EQ(countContaining(plan.problems, "port 2379 is held by python3"), 1u);
  EXPECT_EQ(countContaining(plan.problems,
                            "ControlPlaneService/kube-scheduler: preflight: port "
                            "10259 is held by nc (pid 813, user@0.service)"),
            1u);
}

TEST_F(Preflight, NoSsMeansThePortsCouldNotBeChecked) {
  observed_.listenersKnown = false;
  observed_.ssMissing = true;
  EXPECT_TRUE(has(diffServices().problems,
                  "ControlPlaneService/etcd: preflight: ports 2379, 2380 could not be checked: ss "
                  "is missing; install iproute2"));
}

TEST_F(Preflight, AFailingSsMeansThePortsCouldNotBeChecked) {
  observed_.listenersKnown = false;
  observed_.ssFailed = true;
  EXPECT_TRUE(has(diffServices().problems,
                  "ControlPlaneService/etcd: preflight: ports 2379, 2380 could not be checked: "
                  "`ss -H -ltnpe` failed there (iproute2 4.14 or later is needed)"));
}

TEST_F(Preflight, EtcdFromThePackageNeedsTheEtcdCommand) {
  service("etcd").binary.path = "/usr/bin/etcd";
  ControlPlaneServiceReconciler r(loaded_.state, binaries_);
  runtime::ProbeRequest request;
  r.observe(*controller_, request);
  EXPECT_NE(std::find(request.commands.begin(), request.commands.end(), "etcd"),
            request.commands.end());
  observed_.commands["etcd"] = false;
  const HostPlan plan = diffServices();
  EXPECT_TRUE(has(plan.problems,
                  "ControlPlaneService/etcd: preflight: etcd is missing (spec.binary names the "
                  "package's /usr/bin/etcd); install the etcd-server package, or give "
                  "spec.binary a url or file"));
  // Said once: not also as an absent binary.
  EXPECT_EQ(countContaining(plan.problems, "ControlPlaneService/etcd: /usr/bin/etcd"), 0u);
}

TEST_F(Preflight, EtcdInstalledByKthwNeedsNoEtcdCommand) {
  service("etcd").binary.path = "/usr/bin/etcd";
  service("etcd").binary.url = "https://example.com/etcd";
  ControlPlaneServiceReconciler r(loaded_.state, binaries_);
  runtime::ProbeRequest request;
  r.observe(*controller_, request);
  EXPECT_EQ(std::find(request.commands.begin(), request.commands.end(), "etcd"),
            request.commands.end());
}

TEST_F(Preflight, SwapIsCheckedOnlyUnderAKubelet) {
  observed_.swapOn = true;
  EXPECT_EQ(countContaining(diffServices().problems, "swap"), 0u);
  service("kube-scheduler").binary.path = "/usr/local/bin/kubelet";
  ControlPlaneServiceReconciler r(loaded_.state, binaries_);
  runtime::ProbeRequest request;
  r.observe(*controller_, request);
  EXPECT_TRUE(request.swap);
  EXPECT_TRUE(has(diffServices().problems,
                  "ControlPlaneService/kube-scheduler: preflight: swap is on, and the kubelet "
                  "does not start with swap; turn it off (swapoff -a, and remove the swap "
                  "entries of /etc/fstab)"));
  observed_.swapOn = false;
  EXPECT_EQ(countContaining(diffServices().problems, "swap"), 0u);
}

TEST_F(Preflight, LoadBalancerFrontendHeldByAnotherProcess) {
  observed_.listeners.push_back({6443, "77", "socat", "session-2.scope"});
  const HostPlan plan = diffLoadBalancer(*lbHost_);
  EXPECT_TRUE(has(plan.problems,
                  "LoadBalancer/kubernetes: preflight: port 6443 is held by socat (pid 77, "
                  "session-2.scope); stop it or change the port"));
  EXPECT_FALSE(starts(plan, "haproxy.service"));
}

TEST_F(Preflight, LoadBalancerPortHeldByItsOwnOrTheReplacedImplementationIsFine) {
  observed_.listeners.push_back({6443, "77", "haproxy", "haproxy.service"});
  EXPECT_EQ(countContaining(diffLoadBalancer(*lbHost_).problems, "preflight"), 0u);
  // nginx replaces kthw's haproxy, which lets go of the port in the same plan.
  loaded_.state.loadBalancers[0].implementation = "nginx";
  observed_.heads["/etc/haproxy/haproxy.cfg"] = "# Managed by kthw";
  EXPECT_EQ(countContaining(diffLoadBalancer(*lbHost_).problems, "preflight"), 0u);
  // A haproxy kthw does not manage is someone else's.
  observed_.heads.clear();
  EXPECT_EQ(countContaining(diffLoadBalancer(*lbHost_).problems, "port 6443 is held by haproxy"),
            1u);
}

TEST_F(Preflight, LoadBalancerCommandsAndHealthzPort) {
  observed_.commands["haproxy"] = false;
  EXPECT_TRUE(has(diffLoadBalancer(*lbHost_).problems,
                  "LoadBalancer/kubernetes: preflight: haproxy is missing (it runs the load "
                  "balancer as haproxy.service); install the haproxy package"));
  observed_.commands["nginx"] = false;
  observed_.listeners.push_back({80, "5", "apache2", "apache2.service"});
  const HostPlan plan = diffLoadBalancer(*controller_);
  EXPECT_TRUE(has(plan.problems,
                  "LoadBalancer/kubernetes: preflight: nginx is missing (it runs the load "
                  "balancer as nginx.service); install the nginx package"));
  EXPECT_EQ(countContaining(plan.problems, "port 80 is held by apache2"), 1u);
}

TEST(ClockSkewProblem, BeyondTheBoundNamesDirectionBoundAndFix) {
  runtime::ProbeResult r;
  EXPECT_FALSE(clockSkewProblem(r, std::chrono::seconds(30)));  // not measured
  r.clockSkew = std::chrono::milliseconds(29'999);
  EXPECT_FALSE(clockSkewProblem(r, std::chrono::seconds(30)));
  r.clockSkew = std::chrono::milliseconds(94'400);
  EXPECT_EQ(clockSkewProblem(r, std::chrono::seconds(30)).value_or(""),
            "preflight: clock is 94s ahead of this machine (bound 30s): certificates and tokens "
            "are judged by each host's clock, and hosts apart by more than a minute reject each "
            "other's tokens; sync the clock (chrony, systemd-timesyncd)");
  EXPECT_FALSE(clockSkewProblem(r, std::chrono::seconds(100)));
  r.clockSkew = std::chrono::milliseconds(-400'000);
  EXPECT_EQ(clockSkewProblem(r, std::chrono::seconds(30)).value_or(""),
            "preflight: clock is 400s behind this machine (bound 30s): certificates kthw issues "
            "(valid from 300s before issue) are not yet valid there; sync the clock (chrony, "
            "systemd-timesyncd)");
}

TEST(ServicePorts, UrlListsIpv6AndDisabledPorts) {
  resources::DesiredState state;
  resources::Host host;
  resources::Substituter sub(state);
  resources::ControlPlaneService etcd;
  etcd.component = "etcd";
  etcd.flags.push_back(
      {"listen-client-urls", {"https://[::1]:2379,http://127.0.0.1:4001/", {}, "", ""}, false});
  etcd.flags.push_back({"listen-peer-urls", {"unix:///run/etcd.sock", {}, "", ""}, false});
  EXPECT_EQ(servicePorts(etcd, host, sub), (std::vector<int>{2379, 4001}));
  resources::ControlPlaneService scheduler;
  scheduler.component = "kube-scheduler";
  EXPECT_EQ(servicePorts(scheduler, host, sub), (std::vector<int>{10259}));
  scheduler.flags.push_back({"secure-port", {"0", {}, "", ""}, false});
  EXPECT_TRUE(servicePorts(scheduler, host, sub).empty());
}

}  // namespace
}  // namespace kthw::reconcilers
