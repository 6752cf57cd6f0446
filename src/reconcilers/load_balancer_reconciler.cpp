#include "reconcilers/load_balancer_reconciler.h"

#include <algorithm>

#include "reconcilers/file_sync.h"
#include "reconcilers/load_balancer_config.h"
#include "reconcilers/preflight.h"
#include "reconcilers/unit_actions.h"
#include "runtime/digest.h"
#include "runtime/url_path.h"

namespace kthw::reconcilers {
namespace {

using runtime::FileState;
using runtime::FileType;

constexpr const char* kHaproxyDefault = "/etc/haproxy/haproxy.cfg";
constexpr const char* kNginxStreamDefault = "/etc/nginx/tcpconf.d/kubernetes.conf";
constexpr const char* kNginxConf = "/etc/nginx/nginx.conf";
constexpr const char* kManagedMarker = "# Managed by kthw";

bool isHaproxy(const resources::LoadBalancer& lb) { return lb.implementation == "haproxy"; }
std::string unitOf(const std::string& implementation) { return implementation + ".service"; }

std::string siteAvailable(const resources::HealthzProxy& p) {
  return "/etc/nginx/sites-available/" + p.serverName;
}
std::string siteEnabled(const resources::HealthzProxy& p) {
  return "/etc/nginx/sites-enabled/" + p.serverName;
}

// The file, checked on the host before it replaces the old one; true when it changes.
bool writeChecked(const std::string& resource, const std::string& path, const std::string& content,
                  const std::string& check, const runtime::ProbeResult& observed, HostPlan& plan) {
  return syncFile(resource, runtime::FileSpec{path, "root", "root", 0644, check}, content, observed,
                  plan, "content differs (edited by hand?)");
}

std::vector<int> frontendPorts(const resources::LoadBalancer& lb) {
  std::vector<int> ports = {lb.frontendPort};
  ports.insert(ports.end(), lb.extraPorts.begin(), lb.extraPorts.end());
  return ports;
}

bool active(const runtime::ProbeResult& observed, const std::string& unit) {
  return unitState(observed, unit).activeState == "active";
}

// Preflight problems of `implementation` serving `ports` as `unit` (which, with `alsoOwners`,
// may hold them); returns whether a port is held by another process.
bool preflight(const std::string& resource, const std::string& implementation,
               const std::vector<int>& ports, std::vector<std::string> owners,
               const runtime::ProbeResult& observed, HostPlan& plan) {
  const std::string unit = unitOf(implementation);
  for (const auto& [command, fix] :
       {std::pair<std::string, std::string>{implementation,
                                            "install the " + implementation + " package"},
        {"systemctl", "use a host that boots with systemd"}}) {
    // The frontend and the /healthz proxy on one host both need nginx: said once.
    auto p =
        commandProblem(resource, command, "it runs the load balancer as " + unit, fix, observed);
    if (p && std::find(plan.problems.begin(), plan.problems.end(), *p) == plan.problems.end()) {
      plan.problems.push_back(std::move(*p));
    }
  }
  owners.push_back(unit);
  const auto held = portProblems(resource, ports, owners, active(observed, unit), observed);
  plan.problems.insert(plan.problems.end(), held.begin(), held.end());
  return !held.empty();
}

// Enable the unit, then reload it when its config changed (start it when it is down, unless
// its port is held by another process: then it could not bind it).
void serviceActions(const std::string& resource, const std::string& unit, bool changed,
                    bool portHeld, const runtime::ProbeResult& observed, HostPlan& plan) {
  using Kind = runtime::HostCommand::Kind;
  const runtime::UnitState& u = unitState(observed, unit);
  ensureEnabled(resource, unit, u, "not installed", plan);
  if (u.activeState != "active") {
    if (portHeld) return;
    Action a = unitAction(Kind::kStartUnit, resource, unit, runtime::notRunningReason(u));
    a.needsPrevious = changed;
    plan.actions.push_back(std::move(a));
  } else if (changed) {
    Action a = unitAction(Kind::kReloadUnit, resource, unit,
                          "configuration changed; a reload keeps open connections");
    a.needsPrevious = true;
    plan.actions.push_back(std::move(a));
  }
}

}  // namespace

void LoadBalancerReconciler::observe(const resources::Host& host,
                                     runtime::ProbeRequest& request) const {
  for (const resources::LoadBalancer& lb : state_.loadBalancers) {
    if (lb.host == host.name()) {
      request.addPath(lb.configPath);
      request.addUnit("haproxy.service");
      request.addUnit("nginx.service");
      request.addCommand(lb.implementation);
      request.addCommand("systemctl");
      for (int port : frontendPorts(lb)) request.addPort(port);
      request.heads.push_back(isHaproxy(lb) ? kNginxStreamDefault : kHaproxyDefault);
      if (!isHaproxy(lb)) {
        request.addPath(kNginxConf);
        request.blocks.push_back(kNginxConf);
      }
    }
    if (lb.healthzProxy.enabled && state_.selects(lb.healthzProxy.hosts, host)) {
      request.addPath(siteAvailable(lb.healthzProxy));
      request.addPath(siteEnabled(lb.healthzProxy));
      request.addUnit("nginx.service");
      request.addCommand("nginx");
      request.addCommand("systemctl");
      request.addPort(lb.healthzProxy.listenPort);
    }
  }
}

void LoadBalancerReconciler::diffFrontend(const resources::LoadBalancer& lb,
                                          const runtime::ProbeResult& observed,
                                          HostPlan& plan) const {
  const std::string resource = "LoadBalancer/" + lb.name();
  const auto backends = loadBalancerBackends(state_, lb);
  // First the other implementation: its kthw config goes and its service lets go of the
  // frontend port, so that the new one can bind it.
  const std::string other = isHaproxy(lb) ? "nginx" : "haproxy";
  const std::string otherPath = isHaproxy(lb) ? kNginxStreamDefault : kHaproxyDefault;
  auto head = observed.heads.find(otherPath);
  const bool replacing = head != observed.heads.end() && head->second.starts_with(kManagedMarker);
  // The implementation kthw replaces lets go of the port in this plan: its holding it is fine.
  const bool portHeld =
      preflight(resource, lb.implementation, frontendPorts(lb),
                replacing ? std::vector<std::string>{unitOf(other)} : std::vector<std::string>{},
                observed, plan);
  if (replacing) {
    plan.actions.push_back(makeAction(ActionType::kRemoveFile, resource, otherPath,
                                      "remove " + otherPath,
                                      "the load balancer is " + lb.implementation + " now"));
    const bool otherInUse = active(observed, unitOf(other));
    // nginx may still serve other sites; haproxy only served kthw's config.
    if (other == "haproxy" && otherInUse) {
      plan.actions.push_back(unitAction(runtime::HostCommand::Kind::kDisableUnitNow, resource,
                                        unitOf(other), "replaced by nginx"));
    } else if (other == "nginx" && otherInUse) {
      plan.actions.push_back(unitAction(runtime::HostCommand::Kind::kReloadUnit, resource,
                                        unitOf(other), "its kthw stream config was removed"));
    }
    if (otherInUse) {
      // A reload returns before the old workers close their sockets.
      Action wait =
          makeAction(ActionType::kRunCommand, resource, "frontend port",
                     "wait for " + other + " to release port " + std::to_string(lb.frontendPort),
                     "the new load balancer binds it");
      wait.command = runtime::HostCommand::waitPortReleased(lb.frontendPort);
      plan.actions.push_back(std::move(wait));
    }
  }
  auto config =
      isHaproxy(lb) ? renderHaproxyConfig(lb, backends) : renderNginxStreamConfig(lb, backends);
  if (!config.ok()) {
    plan.problems.push_back(resource + ": " + config.status().message());
    plan.inputProblems.push_back({lb.marks.self, "spec", config.status().message(), std::nullopt});
    return;
  }
  bool changed = false;
  if (isHaproxy(lb)) {
    changed =
        writeChecked(resource, lb.configPath, *config,
                     runtime::configCheckScript(runtime::ConfigCheck::kHaproxy), observed, plan);
  } else {
    // The stream file is checked inside a minimal main configuration of its own.
    changed = writeChecked(resource, lb.configPath, *config,
                           runtime::configCheckScript(runtime::ConfigCheck::kNginxStream), observed,
                           plan);
    const std::string include = std::string(runtime::kBlockBegin) + "\ninclude " +
                                lb.configPath.substr(0, lb.configPath.rfind('/')) + "/*.conf;\n" +
                                runtime::kBlockEnd + "\n";
    auto block = observed.blocks.find(kNginxConf);
    if (block == observed.blocks.end() || block->second.value_or("") != include) {
      Action a =
          makeAction(ActionType::kReplaceBlock, resource, kNginxConf,
                     std::string("include the stream config in ") + kNginxConf, "include absent");
      a.content = include;
      const FileState& st = observed.file(kNginxConf);
      a.ifCurrentSha256 = st.type == FileType::kAbsent ? "" : st.sha256;
      plan.actions.push_back(std::move(a));
      changed = true;
    }
  }
  serviceActions(resource, unitOf(lb.implementation), changed, portHeld, observed, plan);
  auto route = routes_.find(lb.name());
  if (!changed && route != routes_.end() && !route->second.ok()) {
    plan.problems.push_back(resource + ": the configuration is in place but does not route: " +
                            route->second.message());
  }
}

void LoadBalancerReconciler::diffHealthzProxy(const resources::LoadBalancer& lb,
                                              const runtime::ProbeResult& observed,
                                              HostPlan& plan) const {
  const std::string resource = "LoadBalancer/" + lb.name();
  const resources::HealthzProxy& p = lb.healthzProxy;
  const bool portHeld = preflight(resource, "nginx", {p.listenPort}, {}, observed, plan);
  const std::string check = runtime::configCheckScript(runtime::ConfigCheck::kNginxHttp);
  auto site = renderHealthzProxySite(p);
  if (!site.ok()) {
    plan.problems.push_back(resource + ": " + site.status().message());
    plan.inputProblems.push_back(
        {lb.marks.of("healthzProxy"), "spec.healthzProxy", site.status().message(), std::nullopt});
    return;
  }
  bool changed = writeChecked(resource, siteAvailable(p), *site, check, observed, plan);
  const FileState& link = observed.file(siteEnabled(p));
  if (link.type != FileType::kSymlink) {
    Action a =
        makeAction(ActionType::kRunCommand, resource, siteEnabled(p), "enable site " + p.serverName,
                   link.type == FileType::kAbsent ? "absent" : "not a symlink");
    a.command = runtime::HostCommand::link(siteEnabled(p), siteAvailable(p));
    plan.actions.push_back(std::move(a));
    changed = true;
  }
  serviceActions(resource, "nginx.service", changed, portHeld, observed, plan);
}

void LoadBalancerReconciler::diff(const resources::Host& host, const runtime::ProbeResult& observed,
                                  HostPlan& plan) const {
  for (const resources::LoadBalancer& lb : state_.loadBalancers) {
    const bool front = lb.host == host.name();
    const bool proxy = lb.healthzProxy.enabled && state_.selects(lb.healthzProxy.hosts, host);
    if (front || proxy) plan.addResource("LoadBalancer/" + lb.name());
    if (front) diffFrontend(lb, observed, plan);
    if (proxy) diffHealthzProxy(lb, observed, plan);
  }
}

StatusOr<std::string> routeCheckUrl(const resources::LoadBalancer& lb) {
  auto path = runtime::urlPath(runtime::pathSegments(lb.routePath));
  if (!path.ok()) return path.status();
  return "https://" + lb.frontendAddress + ":" + std::to_string(lb.frontendPort) + *path;
}

}  // namespace kthw::reconcilers
