#include "reconcilers/placement.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "../resources/test_util.h"

namespace kthw::reconcilers {
namespace {

const PlacedItem* findItem(const HostPlacement& p, const std::string& target) {
  for (const PlacedItem& i : p.items) {
    if (i.target == target) return &i;
  }
  return nullptr;
}

const HostPlacement& forHost(const std::vector<HostPlacement>& all, const std::string& name) {
  return *std::find_if(all.begin(), all.end(),
                       [&](const HostPlacement& p) { return p.host->name() == name; });
}

TEST(Placement, PlacesTheHaClusterOnEveryHost) {
  auto o = resources::testing::loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Diagnostics d;
  auto placements = placeDesiredState(o.state, d);
  ASSERT_TRUE(d.empty()) << d.front().toString();
  const HostPlacement& c1 = forHost(placements, "controller-1");
  const PlacedItem* unit = findItem(c1, "/etc/systemd/system/kube-apiserver.service");
  ASSERT_NE(unit, nullptr);
  ASSERT_TRUE(unit->content);
  EXPECT_NE(unit->content->find("--advertise-address=10.0.1.11"), std::string::npos);
  EXPECT_NE(
      unit->content->find(
          "--etcd-servers=https://10.0.1.10:2379,https://10.0.1.11:2379,https://10.0.1.12:2379"),
      std::string::npos);
  const PlacedItem* key = findItem(c1, "/var/lib/kubernetes/kubernetes-key.pem");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->kind, PlacedKind::kSecretFile);
  EXPECT_EQ(key->attributes.mode, 0600u);
  EXPECT_FALSE(key->content);  // key material never enters a placement
  const HostPlacement& lb = forHost(placements, "lb-0");
  const PlacedItem* haproxy = findItem(lb, "/etc/haproxy/haproxy.cfg");
  ASSERT_NE(haproxy, nullptr);
  EXPECT_NE(haproxy->content->find("server controller-2 10.0.1.12:6443 check fall 3 rise 2"),
            std::string::npos);
  EXPECT_EQ(findItem(lb, "/etc/systemd/system/kube-apiserver.service"), nullptr);
}

// Render's items are the reconcilers' plan for an empty host, so what apply writes and render
// shows cannot drift: the kernel's files (sysctl.d, modules-load.d) are there, the config checks
// apply runs are named, and services are enabled and running.
TEST(Placement, AHostGetsWhatApplyWritesOnAnEmptyHost) {
  auto o = resources::testing::loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Diagnostics d;
  auto placements = placeDesiredState(o.state, d);
  ASSERT_TRUE(d.empty()) << d.front().toString();
  const HostPlacement& c0 = forHost(placements, "controller-0");
  const PlacedItem* nginx = findItem(c0, "nginx.service");
  ASSERT_NE(nginx, nullptr);
  EXPECT_EQ(nginx->kind, PlacedKind::kService);
  EXPECT_EQ(nginx->detail, "enabled and running");
  const PlacedItem* link =
      findItem(c0, "/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->kind, PlacedKind::kSymlink);
  EXPECT_EQ(link->detail, "-> /etc/nginx/sites-available/kubernetes.default.svc.cluster.local");
  const PlacedItem* binary = findItem(c0, "/usr/local/bin/kube-apiserver");
  ASSERT_NE(binary, nullptr);
  EXPECT_EQ(binary->kind, PlacedKind::kBinary);
  EXPECT_EQ(binary->attributes.mode, 0755u);
  EXPECT_TRUE(binary->detail.starts_with("from https://")) << binary->detail;
  const PlacedItem* haproxy = findItem(forHost(placements, "lb-0"), "/etc/haproxy/haproxy.cfg");
  ASSERT_NE(haproxy, nullptr);
  EXPECT_EQ(haproxy->detail, "config file, checked before it replaces the old one");
  // etcd from the distribution's package: its binary is the host's, and says so.
  const PlacedItem* etcd = findItem(c0, "/usr/local/bin/etcd");
  ASSERT_NE(etcd, nullptr);
  EXPECT_EQ(etcd->detail, "present on the host");
  // Each service once, however many actions name it.
  EXPECT_EQ(std::count_if(c0.items.begin(), c0.items.end(),
                          [](const PlacedItem& i) { return i.target == "etcd.service"; }),
            1);
}

// An nginx frontend's include block in nginx.conf is placed too (a block, not a file of its own).
TEST(Placement, AnNginxFrontendPlacesItsIncludeBlock) {
  auto o =
      resources::testing::loadText(std::string(resources::testing::kMinimalHosts) +
                                   resources::testing::testdataText("desired/nginx-frontend.yaml"));
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Diagnostics d;
  auto placements = placeDesiredState(o.state, d);
  ASSERT_TRUE(d.empty()) << d.front().toString();
  const PlacedItem* block = findItem(forHost(placements, "lb-0"), "/etc/nginx/nginx.conf");
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(block->kind, PlacedKind::kBlock);
  EXPECT_EQ(*block->content,
            "# BEGIN kthw managed block\ninclude /etc/nginx/tcpconf.d/*.conf;\n"
            "# END kthw managed block\n");
}

// The kernel's share: the sysctl.d and modules-load.d files apply writes, each sysctl with its
// value, each module.
TEST(Placement, SysctlsAndModulesComeWithTheFilesThatKeepThemAcrossBoots) {
  auto o = resources::testing::loadExample("single-node");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Diagnostics d;
  auto placements = placeDesiredState(o.state, d);
  ASSERT_TRUE(d.empty()) << d.front().toString();
  ASSERT_EQ(placements.size(), 1u);
  const HostPlacement& h = placements[0];
  const std::string owner = "Host/" + h.host->name();
  const PlacedItem* sysctlFile = findItem(h, "/etc/sysctl.d/90-kthw.conf");
  ASSERT_NE(sysctlFile, nullptr);
  EXPECT_EQ(sysctlFile->owner, owner);
  ASSERT_TRUE(sysctlFile->content);
  EXPECT_NE(sysctlFile->content->find("net.bridge.bridge-nf-call-iptables = 1\n"),
            std::string::npos);
  const PlacedItem* sysctl = findItem(h, "net.bridge.bridge-nf-call-iptables");
  ASSERT_NE(sysctl, nullptr);
  EXPECT_EQ(sysctl->kind, PlacedKind::kSysctl);
  EXPECT_EQ(sysctl->detail, "net.bridge.bridge-nf-call-iptables = 1");
  const PlacedItem* modules = findItem(h, "/etc/modules-load.d/kthw.conf");
  ASSERT_NE(modules, nullptr);
  EXPECT_TRUE(modules->content->ends_with("br_netfilter\noverlay\n")) << *modules->content;
  for (const char* m : {"br_netfilter", "overlay"}) {
    const PlacedItem* module = findItem(h, m);
    ASSERT_NE(module, nullptr) << m;
    EXPECT_EQ(module->kind, PlacedKind::kKernelModule);
  }
}

// A value the output cannot carry (here set past validation, as a per-host substitution could
// produce it) is a problem of the desired state at its own field, without the resource's prefix.
TEST(Placement, AValueARenderCannotCarryIsReportedAtItsField) {
  auto o = resources::testing::loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  o.state.loadBalancers[0].healthzProxy.serverName = "a\nb";
  for (auto& s : o.state.services) {
    if (s.name() != "kube-scheduler") continue;
    ASSERT_FALSE(s.flags.empty());
    s.flags[0].value.value = "line\nbreak";
  }
  resources::Diagnostics d;
  (void)placeDesiredState(o.state, d);
  ASSERT_FALSE(d.empty());
  bool proxy = false;
  bool flag = false;
  for (const resources::Diagnostic& problem : d) {
    const std::string line = problem.toString();
    EXPECT_EQ(line.find("LoadBalancer/"), std::string::npos) << line;
    EXPECT_EQ(line.find("ControlPlaneService/"), std::string::npos) << line;
    proxy = proxy || (problem.path == "spec.healthzProxy" &&
                      problem.mark.fileName().ends_with("loadbalancer.yaml"));
    flag = flag || (problem.path.starts_with("spec.flags.") &&
                    problem.mark.fileName().ends_with("kube-scheduler.yaml"));
  }
  EXPECT_TRUE(proxy) << d.front().toString();
  EXPECT_TRUE(flag) << d.front().toString();
}

}  // namespace
}  // namespace kthw::reconcilers
