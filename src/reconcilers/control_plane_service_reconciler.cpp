#include "reconcilers/control_plane_service_reconciler.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "reconcilers/bundle_files.h"
#include "reconcilers/file_sync.h"
#include "reconcilers/load_balancer_config.h"
#include "reconcilers/preflight.h"
#include "reconcilers/service_hold_back.h"
#include "reconcilers/unit_actions.h"
#include "reconcilers/unit_renderer.h"
#include "resources/substitution.h"
#include "runtime/binary_flags.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

using runtime::FileState;
using runtime::FileType;

std::string unitPath(const resources::ControlPlaneService& s) {
  return "/etc/systemd/system/" + s.unit.name;
}

// The flags the unit passes to the service's binary, for the probe and the write checks.
runtime::FlagCheck flagCheck(const resources::ControlPlaneService& s) {
  runtime::FlagCheck check{s.binary.path, {}};
  for (const resources::Flag& f : s.flags) check.flags.push_back(f.name);
  return check;
}

// Host paths of the bundle files on `host` that carry `source` of `kind`.
std::string bundlePathOn(const resources::DesiredState& state, const std::string& bundle,
                         resources::ContentKind kind, const std::string& source,
                         const resources::Host& host) {
  const resources::CertificateBundle* b = state.findBundle(bundle);
  if (b == nullptr) return "";
  for (const resources::BundleFile& f : b->files) {
    if (f.kind == kind && f.source == source && state.selects(f.hosts, host)) return f.path;
  }
  return "";
}

// A restart on a backend of a haproxy LoadBalancer that names this service takes the backend
// out of rotation meanwhile. A script haproxy's command line cannot carry is a problem.
void addDrains(const resources::DesiredState& state, const resources::ControlPlaneService& s,
               const resources::Host& host, Action& restart, HostPlan& plan) {
  for (const resources::LoadBalancer& lb : state.loadBalancers) {
    if (lb.backendService != s.name() || lb.implementation != "haproxy" ||
        !state.selects(lb.backends, host)) {
      continue;
    }
    auto disable = haproxyServerState(host.name(), "maint");
    auto enable = haproxyServerState(host.name(), "ready");
    if (!disable.ok() || !enable.ok()) {
      plan.problems.push_back("LoadBalancer/" + lb.name() + ": " +
                              (disable.ok() ? enable : disable).status().message());
      continue;
    }
    restart.drains.push_back({lb.host, "LoadBalancer/" + lb.name(), *disable, *enable});
    restart.summary += " (out of LoadBalancer/" + lb.name() + "'s rotation meanwhile)";
  }
}

// etcd from the distribution's package (etcd-server): spec.binary names neither url nor file,
// and its path is where the package puts it.
bool etcdFromPackage(const resources::ControlPlaneService& s) {
  const std::filesystem::path path(s.binary.path);
  return s.component == "etcd" && s.binary.url.empty() && s.binary.file.empty() &&
         (path.parent_path() == "/usr/bin" || path.parent_path() == "/usr/sbin");
}

bool commandMissing(const runtime::ProbeResult& observed, const std::string& command) {
  auto it = observed.commands.find(command);
  return it != observed.commands.end() && !it->second;
}

// Preflight problems of the service on this host; returns whether one of its ports is held by
// another process (then starting or restarting it cannot work).
bool preflight(const resources::ControlPlaneService& s, const resources::Host& host,
               const resources::Substituter& sub, const runtime::ProbeResult& observed,
               HostPlan& plan) {
  const std::string resource = "ControlPlaneService/" + s.name();
  auto add = [&](std::optional<std::string> problem) {
    if (problem) plan.problems.push_back(std::move(*problem));
  };
  if (!s.health.url.value.empty()) {
    add(commandProblem(resource, "curl", "the health check uses it", "install curl", observed));
  }
  if (etcdFromPackage(s)) {
    add(commandProblem(resource, "etcd", "spec.binary names the package's " + s.binary.path,
                       "install the etcd-server package, or give spec.binary a url or file",
                       observed));
  }
  if (runsKubelet(s)) add(swapProblem(resource, observed));
  auto unit = observed.units.find(s.unit.name);
  const bool running = unit != observed.units.end() && unit->second.activeState == "active";
  const auto held =
      portProblems(resource, servicePorts(s, host, sub), {s.unit.name}, running, observed);
  plan.problems.insert(plan.problems.end(), held.begin(), held.end());
  return !held.empty();
}

// etcd reads these only when a member starts with an empty data directory: afterwards the
// member list in its data is what counts.
constexpr std::string_view kEtcdBootstrapFlags[] = {
    "--initial-cluster=", "--initial-cluster-state=", "--initial-cluster-token="};

// The unit's lines without etcd's bootstrap flags and without line continuations, so that two
// units that differ only in those flags compare equal.
std::vector<std::string> withoutBootstrapFlags(const std::string& unit) {
  std::vector<std::string> lines;
  std::istringstream in(unit);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\\' || line.back() == ' ')) line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    const std::string_view text =
        first == std::string::npos ? std::string_view() : std::string_view(line).substr(first);
    const bool bootstrap =
        std::any_of(std::begin(kEtcdBootstrapFlags), std::end(kEtcdBootstrapFlags),
                    [&](std::string_view f) { return text.starts_with(f); });
    if (!bootstrap) lines.push_back(line);
  }
  return lines;
}

// Whether the etcd unit on the host differs from `desired` in bootstrap flags alone (its content
// is probed only when it differs). Unknown content is a difference that matters.
bool onlyBootstrapFlagsDiffer(const resources::ControlPlaneService& s,
                              const runtime::ProbeResult& observed, const std::string& desired) {
  if (s.component != "etcd") return false;
  auto old = observed.contents.find(unitPath(s));
  return old != observed.contents.end() &&
         withoutBootstrapFlags(old->second) == withoutBootstrapFlags(desired);
}

}  // namespace

int componentOrder(const std::string& component) {
  if (component == "etcd") return 0;
  if (component == "kube-apiserver") return 1;
  if (component == "kube-controller-manager") return 2;
  return 3;
}

void ControlPlaneServiceReconciler::observe(const resources::Host& host,
                                            runtime::ProbeRequest& request) const {
  for (const resources::ControlPlaneService& s : state_.services) {
    if (!state_.selects(s.hosts, host)) continue;
    request.addPath(s.binary.path);
    request.addPath(unitPath(s));
    for (const auto& f : s.configFiles) request.addPath(f.path);
    request.addUnit(s.unit.name);
    if (!s.flags.empty()) request.flagChecks.push_back(flagCheck(s));
    if (s.component == "etcd") {
      resources::Diagnostics ignored;
      if (auto unit = renderUnit(s, host, resources::Substituter(state_), ignored)) {
        request.contentsUnlessSha256.emplace_back(unitPath(s), runtime::sha256Hex(*unit));
      }
    }
    if (!s.health.url.value.empty()) request.addCommand("curl");
    if (etcdFromPackage(s)) request.addCommand("etcd");
    for (int port : servicePorts(s, host, resources::Substituter(state_))) request.addPort(port);
    request.swap = request.swap || runsKubelet(s);
  }
}

HealthProbe ControlPlaneServiceReconciler::healthProbe(const resources::ControlPlaneService& s,
                                                       const resources::Host& host) const {
  HealthProbe probe;
  probe.timeoutSeconds = s.health.timeoutSeconds;
  if (s.health.url.value.empty()) {
    probe.description = s.unit.name + " active";
    probe.check =
        runtime::HostCommand::unit(runtime::HostCommand::Kind::kCheckUnitActive, s.unit.name);
    return probe;
  }
  resources::Diagnostics ignored;
  resources::Substituter sub(state_);
  const std::string url = sub.resolve(s.health.url, &host, ignored).value_or(s.health.url.value);
  probe.description = url;
  using resources::ContentKind;
  std::string ca;
  std::string cert;
  std::string key;
  if (!s.health.authority.empty()) {
    ca = bundlePathOn(state_, s.health.certificateBundle, ContentKind::kCertificate,
                      s.health.authority, host);
  }
  if (!s.health.clientCertificate.empty()) {
    cert = bundlePathOn(state_, s.health.certificateBundle, ContentKind::kCertificate,
                        s.health.clientCertificate, host);
    key = bundlePathOn(state_, s.health.certificateBundle, ContentKind::kKey,
                       s.health.clientCertificate, host);
  }
  probe.check = runtime::HostCommand::checkHttps(url, ca, cert, key);
  return probe;
}

void ControlPlaneServiceReconciler::diffService(const resources::ControlPlaneService& s,
                                                const resources::Host& host,
                                                const runtime::ProbeResult& observed,
                                                HostPlan& plan) const {
  const std::string resource = "ControlPlaneService/" + s.name();
  plan.addResource(resource);
  resources::Substituter sub(state_);
  if (auto held = holdBackProblems(s, host, sub, plan); !held.empty()) {
    // As it runs now it stays: a member of its rollout group, whose health the others await.
    plan.problems.insert(plan.problems.end(), held.begin(), held.end());
    plan.health[s.name()] = healthProbe(s, host);
    return;
  }
  const size_t before = plan.actions.size();
  std::vector<std::string> restartBecause;

  // Binary.
  const FileState& bin = observed.file(s.binary.path);
  bool binaryChanges = false;
  if (auto src = binaries_.find(s.name()); src != binaries_.end()) {
    binaryChanges = bin.sha256 != src->second.sha256;
    if (binaryChanges || bin.mode != 0755) {
      Action a = makeAction(
          ActionType::kWriteFile, resource, s.binary.path, "install " + s.binary.path,
          bin.type == FileType::kAbsent      ? "absent"
          : bin.sha256 != src->second.sha256 ? "sha256 " + bin.sha256.substr(0, 12) + "..., want " +
                                                   src->second.sha256.substr(0, 12) + "..."
                                             : "mode " + runtime::formatMode(bin.mode));
      a.file = runtime::FileSpec{s.binary.path, "root", "root", 0755};
      // A binary that does not accept the unit's flags is not installed.
      if (!s.flags.empty()) a.file.check = runtime::flagWriteCheck(flagCheck(s), "\"$t\"");
      a.contentFile = src->second.local;
      a.ifCurrentSha256 = bin.type == FileType::kAbsent ? "" : bin.sha256;
      a.diff = "binary sha256 " + src->second.sha256 +
               (src->second.local.path.empty()
                    ? " (fetched by apply)\n"
                    : " (" + std::to_string(src->second.local.size) + " bytes)\n");
      plan.actions.push_back(std::move(a));
      restartBecause.push_back("binary");
    }
  } else if (!s.binary.sha256.empty() && bin.sha256 != s.binary.sha256) {
    plan.problems.push_back(resource + ": " + s.binary.path + " has sha256 " +
                            (bin.sha256.empty() ? "(absent)" : bin.sha256) + ", want " +
                            s.binary.sha256 + ", and kthw has no copy to install");
  } else if (bin.type == FileType::kAbsent &&
             !(etcdFromPackage(s) && commandMissing(observed, "etcd"))) {  // preflight says it
    plan.problems.push_back(resource + ": " + s.binary.path +
                            " is absent and spec.binary names no url or file to install");
  }

  // Config files and the unit, rendered for this host.
  const bool portHeld = preflight(s, host, sub, observed, plan);
  resources::Diagnostics problems;
  std::string referencing;  // everything that may name an input file
  for (const auto& f : s.configFiles) {
    auto content = sub.resolve(f.content, &host, problems);
    if (!content) continue;
    referencing += *content + "\n";
    if (syncFile(resource, {f.path, f.attributes.owner, f.attributes.group, f.attributes.mode},
                 *content, observed, plan)) {
      restartBecause.push_back(f.path);
    }
  }
  auto unit = renderUnit(s, host, sub, problems);
  for (const auto& d : problems) plan.problems.push_back(resource + ": " + d.toString());
  plan.inputProblems.insert(plan.inputProblems.end(), problems.begin(), problems.end());
  if (!unit) return;
  // Flags the installed binary refuses (when it is the binary that will run): the running unit
  // stays as it is, and nothing of this service is started or restarted.
  if (auto flags = observed.binaryFlags.find(s.binary.path);
      !binaryChanges && flags != observed.binaryFlags.end() && !flags->second.unknown.empty()) {
    plan.problems.push_back(resource + ": " +
                            runtime::describeUnknownFlags(s.binary.path, flags->second));
    plan.health[s.name()] = healthProbe(s, host);
    return;
  }
  referencing += *unit;
  runtime::FileSpec unitFile{unitPath(s), "root", "root", 0644};
  if (!s.flags.empty()) unitFile.check = runtime::flagWriteCheck(flagCheck(s));
  if (syncFile(resource, unitFile, *unit, observed, plan, "unit differs")) {
    if (onlyBootstrapFlagsDiffer(s, observed, *unit)) {
      plan.actions.back().reason +=
          " in --initial-cluster* alone, which etcd reads only when a member first starts: no "
          "restart";
    } else {
      restartBecause.push_back("unit");
    }
  }
  // Files other kinds change in this pass that the service reads (certificates, kubeconfigs).
  // A write that only fixes owner or mode leaves what the service reads as it was: no restart.
  for (size_t i = 0; i < before; ++i) {
    const Action& a = plan.actions[i];
    const bool sameContent =
        !a.contentFile && a.ifCurrentSha256 && *a.ifCurrentSha256 == runtime::sha256Hex(a.content);
    if (a.type == ActionType::kWriteFile && !sameContent && namesPath(referencing, a.target)) {
      restartBecause.push_back(a.target);
    }
  }

  if (!observed.systemctlAvailable) {
    plan.problems.push_back(resource +
                            ": preflight: systemctl is missing (kthw runs the service as a systemd "
                            "unit); use a host that boots with systemd");
    return;
  }
  using Kind = runtime::HostCommand::Kind;
  const runtime::UnitState& state = unitState(observed, s.unit.name);
  ensureEnabled(resource, s.unit.name, state, "not installed yet", plan);
  Action service;
  if (portHeld) {
    // Started, it could not bind its port: the files are in place, the start waits for the port.
  } else if (state.activeState != "active") {
    service = unitAction(Kind::kStartUnit, resource, s.unit.name, runtime::notRunningReason(state));
    service.rollout = Action::Rollout::kStart;
  } else if (!restartBecause.empty()) {
    std::string why;
    for (const std::string& r : restartBecause) why += (why.empty() ? "" : ", ") + r;
    service = unitAction(Kind::kRestartUnit, resource, s.unit.name, "changed: " + why);
    service.rollout = Action::Rollout::kRestart;
    addDrains(state_, s, host, service, plan);
  }
  if (service.rollout != Action::Rollout::kNone) {
    service.rolloutGroup = s.name();
    service.rolloutOrder = componentOrder(s.component);
    plan.actions.push_back(std::move(service));
  }
  plan.health[s.name()] = healthProbe(s, host);
}

void ControlPlaneServiceReconciler::diff(const resources::Host& host,
                                         const runtime::ProbeResult& observed,
                                         HostPlan& plan) const {
  const size_t first = plan.actions.size();
  for (const resources::ControlPlaneService& s : state_.services) {
    if (state_.selects(s.hosts, host)) diffService(s, host, observed, plan);
  }
  // One daemon-reload, after every unit was written and before any enable or start.
  const auto unitWritten = std::find_if(
      plan.actions.begin() + static_cast<long>(first), plan.actions.end(), [](const Action& a) {
        return a.type == ActionType::kWriteFile && a.target.starts_with("/etc/systemd/system/");
      });
  if (unitWritten == plan.actions.end()) return;
  Action reload = makeAction(ActionType::kRunCommand, unitWritten->resource, "systemd",
                             "systemctl daemon-reload", "a unit changed");
  reload.command = runtime::HostCommand::daemonReload();
  // Files first, then the reload, then every enable, start and restart.
  std::stable_partition(plan.actions.begin() + static_cast<long>(first), plan.actions.end(),
                        [](const Action& a) { return a.type != ActionType::kRunCommand; });
  const auto commands =
      std::find_if(plan.actions.begin() + static_cast<long>(first), plan.actions.end(),
                   [](const Action& a) { return a.type == ActionType::kRunCommand; });
  plan.actions.insert(commands, std::move(reload));
}

}  // namespace kthw::reconcilers
