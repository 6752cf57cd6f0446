// The checks of ControlPlaneServices, LoadBalancers, cluster CIDRs and RBAC references.
#include <algorithm>
#include <set>
#include <unordered_set>

#include "resources/formats.h"
#include "resources/semantic_checker.h"

namespace kthw::resources::semantic {

void Checker::checkService(const ControlPlaneService& s) {
  if (!s.binary.url.empty() && !s.binary.file.empty()) {
    fail(s.binary.marks.of("file"), "spec.binary.file", "set url or file, not both");
  }
  if (!s.binary.url.empty() && s.binary.sha256.empty() && s.binary.sha256Url.empty()) {
    fail(s.binary.mark, "spec.binary.sha256",
         "a binary fetched from a URL needs sha256 (pinned) or sha256URL (published checksum)");
  }
  if (!s.health.certificateBundle.empty()) {
    const CertificateBundle* b = state_.findBundle(s.health.certificateBundle);
    if (b == nullptr) {
      failMissing(s.health.marks.of("certificateBundle"), "spec.health.certificateBundle",
                  "no CertificateBundle named " + quoteValue(s.health.certificateBundle),
                  "CertificateBundle", s.health.certificateBundle);
    }
    auto has = [](const auto& list, const std::string& name) {
      return name.empty() ||
             std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.name == name; });
    };
    if (b != nullptr && !has(b->authorities, s.health.authority)) {
      fail(s.health.marks.of("authority"), "spec.health.authority",
           "no authority named " + quoteValue(s.health.authority) + " in " + b->name());
    }
    if (b != nullptr && !has(b->certificates, s.health.clientCertificate)) {
      fail(s.health.marks.of("clientCertificate"), "spec.health.clientCertificate",
           "no certificate named " + quoteValue(s.health.clientCertificate) + " in " + b->name());
    }
  }
  for (const Host* h : checkTarget(s.hosts)) checkServiceOnHost(s, *h);
}

void Checker::checkServiceOnHost(const ControlPlaneService& s, const Host& h) {
  const std::string owner = "ControlPlaneService/" + s.name();
  auto [it, inserted] = components_[h.name()].emplace(s.component, s.name());
  if (!inserted) {
    fail(s.marks.of("component"), "spec.component",
         s.component + " on host " + h.name() + " is already run by ControlPlaneService/" +
             it->second);
    return;  // its unit and files clash too; one report is enough
  }
  claimPath(h, s.binary.path, s.binary.marks.of("path"), "spec.binary.path", owner);
  const bool namedUnit = s.unit.marks.fields.count("name") > 0;
  claimPath(h, "/etc/systemd/system/" + s.unit.name,
            namedUnit ? s.unit.marks.of("name") : s.marks.of("component"), "spec.unit.name",
            owner + " (unit)");
  for (const Flag& f : s.flags) {
    if (f.bare) continue;
    auto value = substituter_.resolve(f.value, &h, out_);
    if (!value) continue;
    const std::string& name = f.name;
    if ((name == "advertise-address" || name == "bind-address") && !isIPv4(*value) &&
        !isIPv6(*value)) {
      fail(f.value.mark, f.value.path,
           quoteValue(*value) + " is not an IP address (on host " + h.name() + ")");
    }
    if (name == "service-cluster-ip-range" || name == "cluster-cidr") {
      for (size_t start = 0; start <= value->size();) {
        size_t end = value->find(',', start);
        if (end == std::string::npos) end = value->size();
        const std::string cidr = value->substr(start, end - start);
        if (!parseCidr(cidr)) fail(f.value.mark, f.value.path, quoteValue(cidr) + " is not a CIDR");
        start = end + 1;
      }
    }
  }
  for (const Text& a : s.args) (void)substituter_.resolve(a, &h, out_);
  for (const auto& [key, value] : s.unit.environment) (void)substituter_.resolve(value, &h, out_);
  for (size_t i = 0; i < s.configFiles.size(); ++i) {
    const ConfigFile& f = s.configFiles[i];
    (void)substituter_.resolve(f.content, &h, out_);
    const std::string path = "spec.configFiles[" + std::to_string(i) + "]";
    claimPath(h, f.path, f.marks.of("path"), path + ".path", owner + " " + path);
  }
  if (!s.health.url.value.empty()) (void)substituter_.resolve(s.health.url, &h, out_);
}

void Checker::checkLoadBalancer(const LoadBalancer& lb) {
  const Host* host = state_.findHost(lb.host);
  if (host == nullptr) {
    failMissing(lb.hostMark, "spec.host", "no Host named " + quoteValue(lb.host), "Host", lb.host);
  }
  if (host != nullptr) {
    const bool explicitPath = lb.marks.fields.count("configPath") > 0;
    claimPath(*host, lb.configPath, explicitPath ? lb.marks.of("configPath") : lb.hostMark,
              "spec.configPath", "LoadBalancer/" + lb.name());
  }
  checkTarget(lb.backends);
  if (!lb.httpCheckPath.empty() && lb.implementation != "haproxy") {
    fail(lb.marks.of("healthCheck"), "spec.healthCheck.httpPath",
         "needs implementation haproxy: nginx's open-source stream module has no active checks");
  }
  if (!lb.backendService.empty()) {
    if (lb.implementation != "haproxy") {
      fail(lb.backendServiceMark, "spec.backends.service",
           "needs implementation haproxy: nginx has no runtime API to take a backend out of "
           "rotation");
    } else if (std::none_of(
                   state_.services.begin(), state_.services.end(),
                   [&](const ControlPlaneService& s) { return s.name() == lb.backendService; })) {
      failMissing(lb.backendServiceMark, "spec.backends.service",
                  "no ControlPlaneService named " + quoteValue(lb.backendService),
                  "ControlPlaneService", lb.backendService);
    }
  }
  if (lb.healthzProxy.enabled) checkTarget(lb.healthzProxy.hosts);
  if (!lb.routeBundle.empty()) {
    const CertificateBundle* b = state_.findBundle(lb.routeBundle);
    if (b == nullptr) {
      failMissing(lb.marks.of("routeCheck"), "spec.routeCheck.certificateBundle",
                  "no CertificateBundle named " + quoteValue(lb.routeBundle), "CertificateBundle",
                  lb.routeBundle);
    } else if (b != nullptr &&
               std::none_of(b->authorities.begin(), b->authorities.end(),
                            [&](const Authority& a) { return a.name == lb.routeAuthority; })) {
      fail(lb.marks.of("routeCheck"), "spec.routeCheck.authority",
           "no authority named " + quoteValue(lb.routeAuthority) + " in " + b->name());
    }
  }
}

void Checker::checkClusterCidrs() {
  struct Range {
    Cidr cidr;
    std::string text;
    const Text* source;
  };
  std::vector<Range> services;
  std::vector<Range> pods;
  for (const ControlPlaneService& s : state_.services) {
    auto hosts = state_.select(s.hosts);
    const Host* first = hosts.empty() ? nullptr : hosts.front();
    for (const Flag& f : s.flags) {
      if (f.name != "service-cluster-ip-range" && f.name != "cluster-cidr") continue;
      Diagnostics ignored;  // reported per host already
      auto value = substituter_.resolve(f.value, first, ignored);
      if (!value) continue;
      auto cidr = parseCidr(value->substr(0, value->find(',')));
      if (!cidr) continue;
      (f.name == "cluster-cidr" ? pods : services).push_back(Range{*cidr, *value, &f.value});
    }
  }
  for (const Range& pod : pods) {
    for (const Range& svc : services) {
      if (pod.cidr.overlaps(svc.cidr)) {
        fail(pod.source->mark, pod.source->path,
             "cluster CIDR " + pod.text + " overlaps the service CIDR " + svc.text + " (" +
                 at(svc.source->mark) + ")");
        break;
      }
    }
  }
  for (size_t i = 0; i < services.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (services[i].text != services[j].text) {
        fail(services[i].source->mark, services[i].source->path,
             "service CIDR " + services[i].text + " differs from " + services[j].text + " (" +
                 at(services[j].source->mark) + "); every component must agree");
        break;
      }
    }
  }
}

void Checker::checkRoleRefs() {
  static const std::set<std::string, std::less<>> kDefaultRoles = {"cluster-admin", "admin", "edit",
                                                                   "view"};
  std::unordered_set<std::string> roles;
  for (const RbacObject& r : state_.rbac) {
    if (r.kind == "ClusterRole") roles.insert(r.name());
  }
  for (const RbacObject& o : state_.rbac) {
    if (o.kind != "ClusterRoleBinding") continue;
    const std::string& ref = o.roleRefName;
    const bool declared = roles.count(ref) > 0;
    if (declared || ref.starts_with("system:") || kDefaultRoles.count(ref) > 0) continue;
    failMissing(
        o.roleRefMark, "roleRef.name",
        "no ClusterRole " + quoteValue(ref) + " in the desired state, and it is not a default role",
        "ClusterRole", ref);
  }
}

}  // namespace kthw::resources::semantic
