// LoadBalancer on its hosts, as sample-controller tests its controller: the exact actions on an
// empty host, none once the host shows what they did, and a reload (never a restart) when the
// backends change. The haproxy frontend and the nginx /healthz proxy come from
// examples/ha-cluster, the nginx frontend (with its include block) from
// tests/testdata/desired/nginx-frontend.yaml.
#include "reconcilers/load_balancer_reconciler.h"

#include <gtest/gtest.h>

#include "../../support/fake_host.h"
#include "../resources/test_util.h"
#include "engine/host_pass.h"
#include "reconcilers/load_balancer_config.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

// One line per action: what it is, what it acts on and how, and why.
std::string describe(const Action& a) {
  std::string out = std::string(actionTypeName(a.type)) + " " + a.target;
  if (!a.command.empty()) out += " `" + runtime::commandScript(a.command) + "`";
  if (a.type == ActionType::kWriteFile) out += " checked by `" + a.file.check + "`";
  if (a.needsPrevious) out += " after the step before";
  return out + " (" + a.reason + ")";
}

std::vector<std::string> describe(const HostPlan& plan) {
  std::vector<std::string> out;
  for (const Action& a : plan.actions) out.push_back(describe(a));
  return out;
}

// What the next probe reports once the plan's actions ran.
runtime::ProbeResult after(const HostPlan& plan, runtime::ProbeResult observed) {
  for (const Action& a : plan.actions) {
    if (a.type == ActionType::kWriteFile) {
      observed.files[a.target] = {
          runtime::FileType::kFile,     a.file.mode, a.file.owner, a.file.group, a.content.size(),
          runtime::sha256Hex(a.content)};
    } else if (a.type == ActionType::kReplaceBlock) {
      observed.blocks[a.target] = a.content;
      observed.files[a.target].sha256 = runtime::sha256Hex("nginx.conf with " + a.content);
    } else if (a.command.kind == runtime::HostCommand::Kind::kLink) {
      observed.files[a.target] = {runtime::FileType::kSymlink, 0777, "root", "root", 0, ""};
    } else if (a.summary.starts_with("enable ")) {
      observed.units[a.target].loadState = "loaded";
      observed.units[a.target].unitFileState = "enabled";
    } else if (a.summary.starts_with("start ")) {
      observed.units[a.target].activeState = "active";
    }
  }
  return observed;
}

const Action* find(const HostPlan& plan, const std::string& target) {
  for (const Action& a : plan.actions) {
    if (a.target == target) return &a;
  }
  return nullptr;
}

class LoadBalancerReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loaded_ = resources::testing::loadExample("ha-cluster");
    ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
    empty_.systemctlAvailable = true;
  }

  HostPlan diff(const std::string& host, const runtime::ProbeResult& observed) {
    const resources::Host* h = loaded_.state.findHost(host);
    EXPECT_NE(h, nullptr) << host;
    LoadBalancerReconciler r(loaded_.state, routes_);
    HostPlan plan;
    if (h != nullptr) r.diff(*h, observed, plan);
    return plan;
  }

  resources::LoadOutcome loaded_;
  std::map<std::string, Status> routes_;
  runtime::ProbeResult empty_;
};

const char* kHaproxyCfg = "/etc/haproxy/haproxy.cfg";
const char* kSite = "/etc/nginx/sites-available/kubernetes.default.svc.cluster.local";

TEST_F(LoadBalancerReconcilerTest, AnEmptyFrontendHostGetsTheCheckedConfigThenEnableAndStart) {
  const HostPlan plan = diff("lb-0", empty_);
  EXPECT_EQ(plan.problems, std::vector<std::string>{});
  EXPECT_EQ(plan.resources, std::vector<std::string>{"LoadBalancer/kubernetes"});
  EXPECT_EQ(
      describe(plan),
      (std::vector<std::string>{
          "write /etc/haproxy/haproxy.cfg checked by `haproxy -c -f \"$t\"` (absent)",
          "run haproxy.service `systemctl enable --quiet 'haproxy.service'` (not installed)",
          "run haproxy.service `systemctl start 'haproxy.service'` after the step before (not "
          "running)"}));
  const Action* cfg = find(plan, kHaproxyCfg);
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(cfg->ifCurrentSha256, "");
  EXPECT_EQ(cfg->file.mode, 0644u);
  const std::string servers =
      "    server controller-0 10.0.1.10:6443 check fall 3 rise 2\n"
      "    server controller-1 10.0.1.11:6443 check fall 3 rise 2\n"
      "    server controller-2 10.0.1.12:6443 check fall 3 rise 2\n";
  EXPECT_TRUE(cfg->content.ends_with(servers)) << cfg->content;
  EXPECT_NE(cfg->content.find("    bind 10.0.1.30:6443\n"), std::string::npos) << cfg->content;
  // Nothing of the load balancer on a controller but the /healthz proxy.
  for (const Action& a : diff("controller-0", empty_).actions) {
    EXPECT_NE(a.target, kHaproxyCfg);
  }
}

TEST_F(LoadBalancerReconcilerTest, AConvergedFrontendTakesNoAction) {
  const HostPlan second = diff("lb-0", after(diff("lb-0", empty_), empty_));
  EXPECT_EQ(describe(second), std::vector<std::string>{});
  EXPECT_TRUE(second.converged());
}

TEST_F(LoadBalancerReconcilerTest, ABackendChangeRewritesTheConfigAndReloadsNotRestarts) {
  const runtime::ProbeResult converged = after(diff("lb-0", empty_), empty_);
  const std::string oldSha = converged.file(kHaproxyCfg).sha256;
  for (resources::Host& h : loaded_.state.hosts) {
    if (h.name() == "controller-2") h.internalIP = "10.0.1.19";
  }
  const HostPlan plan = diff("lb-0", converged);
  EXPECT_EQ(describe(plan),
            (std::vector<std::string>{
                "write /etc/haproxy/haproxy.cfg checked by `haproxy -c -f \"$t\"` (content differs "
                "(edited by hand?))",
                "run haproxy.service `systemctl reload 'haproxy.service'` after the step before "
                "(configuration changed; a reload keeps open connections)"}));
  const Action* cfg = find(plan, kHaproxyCfg);
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(cfg->ifCurrentSha256, oldSha);
  EXPECT_NE(cfg->content.find("    server controller-2 10.0.1.19:6443 check fall 3 rise 2\n"),
            std::string::npos)
      << cfg->content;
  EXPECT_TRUE(diff("lb-0", after(plan, converged)).converged());
}

TEST_F(LoadBalancerReconcilerTest, AConfigEditedByHandIsRewrittenAndReloaded) {
  runtime::ProbeResult edited = after(diff("lb-0", empty_), empty_);
  edited.files[kHaproxyCfg].sha256 = runtime::sha256Hex("global\n");
  EXPECT_EQ(describe(diff("lb-0", edited)),
            (std::vector<std::string>{
                "write /etc/haproxy/haproxy.cfg checked by `haproxy -c -f \"$t\"` (content differs "
                "(edited by hand?))",
                "run haproxy.service `systemctl reload 'haproxy.service'` after the step before "
                "(configuration changed; a reload keeps open connections)"}));
}

const std::vector<std::string> kProxyActions = {
    "write /etc/nginx/sites-available/kubernetes.default.svc.cluster.local checked by "
    "`m=$(mktemp); printf 'events {}\\nhttp {\\ninclude %s;\\n}\\n' \"$t\" > \"$m\"; nginx -t -q "
    "-c \"$m\"; r=$?; rm -f \"$m\"; exit $r` (absent)",
    "run /etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local `ln -sfn "
    "'/etc/nginx/sites-available/kubernetes.default.svc.cluster.local' "
    "'/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local'` (absent)",
    "run nginx.service `systemctl enable --quiet 'nginx.service'` (not installed)",
};

TEST_F(LoadBalancerReconcilerTest, EachControllerGetsTheHealthzProxySiteEnabledAndNginxStarted) {
  for (const char* controller : {"controller-0", "controller-1", "controller-2"}) {
    const HostPlan plan = diff(controller, empty_);
    std::vector<std::string> want = kProxyActions;
    want.push_back(
        "run nginx.service `systemctl start 'nginx.service'` after the step before (not running)");
    EXPECT_EQ(describe(plan), want) << controller;
    const Action* site = find(plan, kSite);
    ASSERT_NE(site, nullptr);
    EXPECT_EQ(site->content,
              "# Managed by kthw.\n"
              "server {\n"
              "  listen      80;\n"
              "  server_name kubernetes.default.svc.cluster.local;\n"
              "\n"
              "  location /healthz {\n"
              "     proxy_pass                    https://127.0.0.1:6443/healthz;\n"
              "     proxy_ssl_trusted_certificate /var/lib/kubernetes/ca.pem;\n"
              "  }\n"
              "}\n");
    EXPECT_TRUE(diff(controller, after(plan, empty_)).converged()) << controller;
  }
  EXPECT_EQ(describe(diff("lb-0", empty_)).size(), 3u);  // no /healthz proxy on lb-0
}

TEST_F(LoadBalancerReconcilerTest, ARunningNginxIsReloadedForTheNewSiteNotStarted) {
  runtime::ProbeResult running = empty_;
  running.units["nginx.service"] = {"loaded", "active", "running", "enabled", "1"};
  std::vector<std::string> want(kProxyActions.begin(), kProxyActions.end() - 1);
  want.push_back(
      "run nginx.service `systemctl reload 'nginx.service'` after the step before (configuration "
      "changed; a reload keeps open connections)");
  EXPECT_EQ(describe(diff("controller-1", running)), want);
}

TEST_F(LoadBalancerReconcilerTest, AnNginxFrontendGetsItsStreamFileAndTheIncludeBlockOnce) {
  loaded_ =
      resources::testing::loadText(std::string(resources::testing::kMinimalHosts) +
                                   resources::testing::testdataText("desired/nginx-frontend.yaml"));
  ASSERT_TRUE(loaded_.ok()) << resources::testing::joinErrors(loaded_);
  runtime::ProbeResult host = empty_;
  host.files["/etc/nginx/nginx.conf"] = {runtime::FileType::kFile,        0644, "root", "root", 10,
                                         runtime::sha256Hex("nginx.conf")};
  host.blocks["/etc/nginx/nginx.conf"] = std::nullopt;
  host.units["nginx.service"] = {"loaded", "active", "running", "enabled", "1"};
  const HostPlan plan = diff("lb-0", host);
  ASSERT_EQ(plan.actions.size(), 3u) << ::testing::PrintToString(describe(plan));
  EXPECT_EQ(describe(plan.actions[0]),
            "write /etc/nginx/tcpconf.d/kubernetes.conf checked by `m=$(mktemp); printf 'include "
            "/etc/nginx/modules-enabled/*.conf;\\nevents {}\\ninclude %s;\\n' \"$t\" > "
            "\"$m\"; nginx -t -q -c \"$m\"; r=$?; rm -f \"$m\"; exit $r` (absent)");
  EXPECT_EQ(describe(plan.actions[1]), "edit /etc/nginx/nginx.conf (include absent)");
  EXPECT_EQ(plan.actions[1].content,
            "# BEGIN kthw managed block\ninclude /etc/nginx/tcpconf.d/*.conf;\n"
            "# END kthw managed block\n");
  EXPECT_EQ(plan.actions[1].ifCurrentSha256, runtime::sha256Hex("nginx.conf"));
  EXPECT_EQ(describe(plan.actions[2]),
            "run nginx.service `systemctl reload 'nginx.service'` after the step before "
            "(configuration changed; a reload keeps open connections)");
  EXPECT_EQ(plan.actions[0].content,
            "# Managed by kthw (LoadBalancer/kubernetes); local edits are reported as drift and "
            "reverted.\n"
            "stream {\n"
            "    upstream kubernetes {\n"
            "        server 10.0.1.10:6443 max_fails=3 fail_timeout=4s;\n"
            "        server 10.0.1.11:6443 max_fails=3 fail_timeout=4s;\n"
            "    }\n"
            "\n"
            "    server {\n"
            "        listen 10.0.1.30:6443;\n"
            "        proxy_pass kubernetes;\n"
            "    }\n"
            "}\n");
  EXPECT_EQ(describe(diff("lb-0", after(plan, host))), std::vector<std::string>{});
}

// Through the engine on a fake host that acts systemd out, with haproxy and nginx installed as
// their packages leave them (units loaded, disabled, stopped): the frontend and the /healthz
// proxy end enabled and running with their files in place, and a second apply does nothing.
TEST_F(LoadBalancerReconcilerTest, ApplyOnFakeHostsConvergesAndTheSecondApplyDoesNothing) {
  std::map<std::string, std::shared_ptr<testing::FakeHost>> hosts;
  for (const char* name : {"lb-0", "controller-0"}) {
    auto fake = std::make_shared<testing::FakeHost>();
    fake->systemctl = true;
    for (const char* unit : {"haproxy.service", "nginx.service"}) {
      fake->units[unit] = {"loaded", "inactive", "dead", "disabled", ""};
    }
    hosts[name] = fake;
  }
  LoadBalancerReconciler r(loaded_.state, routes_);
  auto connect = [&](const resources::Host& h) { return hosts.at(h.name()); };
  engine::PassOptions only;
  only.hosts = {"lb-0", "controller-0"};
  auto first = engine::applyHosts(loaded_.state, {&r}, connect, only);
  ASSERT_EQ(first.size(), 2u);
  for (const engine::HostOutcome& o : first) {
    EXPECT_FALSE(o.failed()) << o.plan.host;
    EXPECT_EQ(o.plan.problems, std::vector<std::string>{}) << o.plan.host;
  }
  const testing::FakeHost& lb = *hosts.at("lb-0");
  EXPECT_NE(lb.files.at(kHaproxyCfg).content.find("server controller-2 10.0.1.12:6443"),
            std::string::npos);
  EXPECT_EQ(lb.units.at("haproxy.service").unitFileState, "enabled");
  EXPECT_EQ(lb.units.at("haproxy.service").activeState, "active");
  EXPECT_EQ(lb.units.at("nginx.service").activeState, "inactive");
  const testing::FakeHost& controller = *hosts.at("controller-0");
  const std::string enabled = "/etc/nginx/sites-enabled/kubernetes.default.svc.cluster.local";
  ASSERT_EQ(controller.files.count(enabled), 1u);
  EXPECT_TRUE(controller.files.at(enabled).symlink);
  EXPECT_EQ(controller.files.at(enabled).content, kSite);
  EXPECT_EQ(controller.units.at("nginx.service").activeState, "active");
  EXPECT_EQ(controller.units.at("nginx.service").unitFileState, "enabled");

  for (auto& [name, fake] : hosts) fake->actions.clear();
  auto second = engine::applyHosts(loaded_.state, {&r}, connect, only);
  for (const engine::HostOutcome& o : second) {
    EXPECT_TRUE(o.plan.converged())
        << o.plan.host << ": " << ::testing::PrintToString(describe(o.plan));
    EXPECT_EQ(hosts.at(o.plan.host)->actions, std::vector<std::string>{}) << o.plan.host;
  }
}

}  // namespace
}  // namespace kthw::reconcilers
