#include "reconcilers/placement.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "reconcilers/control_plane_service_reconciler.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/load_balancer_reconciler.h"
#include "resources/substitution.h"

namespace kthw::reconcilers {
namespace {

using resources::FileAttributes;

std::string joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string subjectSummary(const resources::Subject& s) {
  std::string out = "CN=" + s.commonName;
  if (!s.organizations.empty()) out += ", O=" + joined(s.organizations, "+");
  return out;
}

// What a host reports before kthw ever touched it, for the reconcilers' diffs: no file, unit,
// block or module of kthw's, systemd there, every sysctl the Host names present with the value
// it wants (their items come from the spec), and a binary kthw does not install (a package's,
// or one spec.binary only names by path) in place.
runtime::ProbeResult emptyHost(const resources::DesiredState& state, const resources::Host& h) {
  runtime::ProbeResult r;
  r.systemctlAvailable = true;
  r.osRelease = "(rendered)";
  for (const auto& [key, value] : h.sysctls) r.sysctls[key] = value;
  for (const resources::ControlPlaneService& s : state.services) {
    if (!state.selects(s.hosts, h) || !s.binary.url.empty() || !s.binary.file.empty()) continue;
    r.files[s.binary.path] =
        runtime::FileState{runtime::FileType::kFile, 0755, "root", "root", 0, s.binary.sha256};
  }
  return r;
}

// Every binary kthw installs, as the engine would name it before fetching it.
std::map<std::string, BinarySource> plannedBinaries(const resources::DesiredState& state) {
  std::map<std::string, BinarySource> out;
  for (const resources::ControlPlaneService& s : state.services) {
    if (!s.binary.url.empty() || !s.binary.file.empty()) {
      out[s.name()] = BinarySource{s.binary.sha256.empty() ? "(not fetched)" : s.binary.sha256, {}};
    }
  }
  return out;
}

std::string binaryOrigin(const resources::ControlPlaneService& s) {
  std::string origin = !s.binary.url.empty()    ? "from " + s.binary.url
                       : !s.binary.file.empty() ? "from local file " + s.binary.file
                                                : "present on the host";
  if (!s.binary.sha256.empty()) origin += ", sha256 " + s.binary.sha256.substr(0, 12) + "…";
  return origin;
}

const resources::ControlPlaneService* findService(const resources::DesiredState& state,
                                                  const std::string& name) {
  for (const resources::ControlPlaneService& s : state.services) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

FileAttributes attributesOf(const runtime::FileSpec& f) { return {f.owner, f.group, f.mode}; }

// The host's items are what apply would do to it were it empty: the reconcilers' own diffs,
// read as "this is placed here". Certificates and keys are summaries of the bundles instead
// (their material is in the secret store, never in a placement).
class Placer {
 public:
  Placer(const resources::DesiredState& state, resources::Diagnostics& out)
      : state_(state),
        out_(out),
        substituter_(state),
        binaries_(plannedBinaries(state)),
        services_(state, binaries_),
        loadBalancers_(state, noRoutes_) {}

  std::vector<HostPlacement> run() {
    std::vector<HostPlacement> result;
    for (const resources::Host& h : state_.hosts) {
      HostPlacement p{&h, {}};
      const runtime::ProbeResult empty = emptyHost(state_, h);
      fromPlan(h, basics_, empty, p.items);
      for (const resources::CertificateBundle& b : state_.bundles) placeBundle(b, h, p.items);
      hostsBinaries(h, p.items);
      fromPlan(h, services_, empty, p.items);
      fromPlan(h, loadBalancers_, empty, p.items);
      result.push_back(std::move(p));
    }
    return result;
  }

 private:
  // A binary kthw does not install is the host's (a package's, or one spec.binary names only
  // by path): no plan writes it, and it is placed as present.
  void hostsBinaries(const resources::Host& h, std::vector<PlacedItem>& items) const {
    for (const resources::ControlPlaneService& s : state_.services) {
      if (!state_.selects(s.hosts, h) || binaries_.count(s.name()) != 0) continue;
      items.push_back({PlacedKind::kBinary, s.binary.path, "ControlPlaneService/" + s.name(),
                       binaryOrigin(s), std::nullopt, FileAttributes{"root", "root", 0755}});
    }
  }

  // A problem of a plan for an empty host is one of the desired state (a value a configuration
  // cannot carry, a substitution that does not resolve): reported at the resource it names.
  void report(const std::string& problem) {
    const std::string resource = problem.substr(0, problem.find(": "));
    resources::Mark mark;
    const std::string name = resource.substr(resource.find('/') + 1);
    if (resource.starts_with("ControlPlaneService/")) {
      if (const auto* s = findService(state_, name)) mark = s->marks.self;
    } else if (resource.starts_with("LoadBalancer/")) {
      for (const auto& lb : state_.loadBalancers) {
        if (lb.name() == name) mark = lb.marks.self;
      }
    }
    const size_t colon = problem.find(": ");
    out_.push_back(resources::Diagnostic{
        mark, "", colon == std::string::npos ? problem : problem.substr(colon + 2), std::nullopt});
  }

  void fromPlan(const resources::Host& h, const HostScopedReconciler& r,
                const runtime::ProbeResult& empty, std::vector<PlacedItem>& items) {
    HostPlan plan;
    plan.host = h.name();
    r.diff(h, empty, plan);
    // The desired state's own problems at their positions; anything else a plan for an empty
    // host finds (none is expected) at the resource it names.
    out_.insert(out_.end(), plan.inputProblems.begin(), plan.inputProblems.end());
    if (plan.inputProblems.empty()) {
      for (const std::string& problem : plan.problems) report(problem);
    }
    std::set<std::string> services;
    for (const Action& a : plan.actions) {
      switch (a.type) {
        case ActionType::kEnsureDirectory:
          items.push_back({PlacedKind::kDirectory, a.target, a.resource, "", std::nullopt,
                           attributesOf(a.file)});
          break;
        case ActionType::kWriteFile:
          items.push_back(fileItem(a));
          if (a.target == kSysctlFile) {
            for (const auto& [key, value] : h.sysctls) {
              items.push_back(
                  {PlacedKind::kSysctl, key, a.resource, key + " = " + value, std::nullopt, {}});
            }
          }
          break;
        case ActionType::kReplaceBlock:
          blockItems(a, items);
          break;
        case ActionType::kRemoveFile:
          break;
        case ActionType::kRunCommand:
          commandItem(a, services, items);
          break;
      }
    }
  }

  PlacedItem fileItem(const Action& a) {
    if (a.contentFile) {
      const std::string name = a.resource.substr(a.resource.find('/') + 1);
      const resources::ControlPlaneService* s = findService(state_, name);
      return {PlacedKind::kBinary, a.target,
              a.resource,          s ? binaryOrigin(*s) : "binary",
              std::nullopt,        attributesOf(a.file)};
    }
    std::string detail =
        a.target.starts_with("/etc/systemd/system/") ? "systemd unit" : "config file";
    if (!a.file.check.empty()) detail += ", checked before it replaces the old one";
    return {PlacedKind::kFile, a.target, a.resource, detail, a.content, attributesOf(a.file)};
  }

  // /etc/hosts: an entry per line of the block; any other shared file: the block itself.
  static void blockItems(const Action& a, std::vector<PlacedItem>& items) {
    if (a.target != kEtcHosts) {
      items.push_back(
          {PlacedKind::kBlock, a.target, a.resource, "kthw's managed block", a.content, {}});
      return;
    }
    std::istringstream lines(a.content);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line.starts_with("#")) continue;
      items.push_back({PlacedKind::kEtcHostsEntry,
                       line.substr(0, line.find(' ')),
                       a.resource,
                       line,
                       std::nullopt,
                       {}});
    }
  }

  static void commandItem(const Action& a, std::set<std::string>& services,
                          std::vector<PlacedItem>& items) {
    using Kind = runtime::HostCommand::Kind;
    const runtime::HostCommand& c = a.command;
    if (c.kind == Kind::kLoadModule) {
      items.push_back({PlacedKind::kKernelModule, c.name, a.resource, "", std::nullopt, {}});
    } else if (c.kind == Kind::kLink) {
      items.push_back(
          {PlacedKind::kSymlink, c.name, a.resource, "-> " + c.target, std::nullopt, {}});
    } else if ((c.kind == Kind::kEnableUnit || c.kind == Kind::kStartUnit) &&
               services.insert(c.name).second) {
      items.push_back(
          {PlacedKind::kService, c.name, a.resource, "enabled and running", std::nullopt, {}});
    }
  }

  std::string describeSource(const resources::CertificateBundle& b,
                             const resources::BundleFile& f) {
    using resources::ContentKind;
    std::string what = std::string(resources::contentKindName(f.kind)) + " " + f.source;
    if (f.kind == ContentKind::kCertificate) {
      for (const auto& a : b.authorities) {
        if (a.name == f.source) return what + " (authority, " + subjectSummary(a.subject) + ")";
      }
      for (const auto& c : b.certificates) {
        if (c.name != f.source) continue;
        std::vector<std::string> sans = substituter_.resolveAll(c.dnsNames, nullptr, out_);
        const auto ips = substituter_.resolveAll(c.ipAddresses, nullptr, out_);
        sans.insert(sans.end(), ips.begin(), ips.end());
        std::string out = what + " (" + subjectSummary(c.subject) + ", issuer " + c.issuer;
        if (!sans.empty()) out += ", SANs " + joined(sans, ",");
        return out + ")";
      }
    }
    if (f.kind == ContentKind::kKubeconfig) {
      for (const auto& k : b.kubeconfigs) {
        if (k.name != f.source) continue;
        auto server = substituter_.resolve(k.server, nullptr, out_);
        return what + " (user of certificate " + k.certificate + ", server " +
               server.value_or("?") + ")";
      }
    }
    return what;
  }

  void placeBundle(const resources::CertificateBundle& b, const resources::Host& h,
                   std::vector<PlacedItem>& items) {
    const std::string owner = "CertificateBundle/" + b.name();
    for (const auto& f : b.files) {
      if (!state_.selects(f.hosts, h)) continue;
      items.push_back({PlacedKind::kSecretFile, f.path, owner, describeSource(b, f), std::nullopt,
                       f.attributes});
    }
  }

  const resources::DesiredState& state_;
  resources::Diagnostics& out_;
  resources::Substituter substituter_;
  std::map<std::string, BinarySource> binaries_;
  std::map<std::string, Status> noRoutes_;
  HostBasicsReconciler basics_;
  ControlPlaneServiceReconciler services_;
  LoadBalancerReconciler loadBalancers_;
};

}  // namespace

std::vector<HostPlacement> placeDesiredState(const resources::DesiredState& state,
                                             resources::Diagnostics& out) {
  return Placer(state, out).run();
}

std::string_view placedKindName(PlacedKind kind) {
  switch (kind) {
    case PlacedKind::kDirectory:
      return "directory";
    case PlacedKind::kEtcHostsEntry:
      return "/etc/hosts";
    case PlacedKind::kSysctl:
      return "sysctl";
    case PlacedKind::kKernelModule:
      return "module";
    case PlacedKind::kFile:
    case PlacedKind::kSecretFile:
      return "file";
    case PlacedKind::kBinary:
      return "binary";
    case PlacedKind::kService:
      return "service";
    case PlacedKind::kSymlink:
      return "symlink";
    case PlacedKind::kBlock:
      return "block";
  }
  return "item";
}

}  // namespace kthw::reconcilers
