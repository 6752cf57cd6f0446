#include "reconcilers/placement.h"

#include <algorithm>
#include <map>

#include "reconcilers/load_balancer_config.h"
#include "reconcilers/unit_renderer.h"

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

class Placer {
 public:
  Placer(const resources::DesiredState& state, resources::Diagnostics& out)
      : state_(state), out_(out), substituter_(state) {}

  std::vector<HostPlacement> run() {
    for (const resources::Host& h : state_.hosts) placeHost(h);
    for (const resources::CertificateBundle& b : state_.bundles) placeBundle(b);
    for (const resources::ControlPlaneService& s : state_.services) placeService(s);
    for (const resources::LoadBalancer& lb : state_.loadBalancers) placeLoadBalancer(lb);
    std::vector<HostPlacement> result;
    for (const resources::Host& h : state_.hosts) {
      result.push_back(HostPlacement{&h, std::move(byHost_[h.name()])});
    }
    return result;
  }

 private:
  // A rendered file, or nothing when a value could not be represented (reported at `mark`).
  std::optional<std::string> rendered(const StatusOr<std::string>& text,
                                      const resources::Mark& mark, const std::string& path) {
    if (text.ok()) return *text;
    out_.push_back(resources::Diagnostic{mark, path, text.status().message()});
    return std::nullopt;
  }

  void add(const resources::Host& h, PlacedItem item) {
    byHost_[h.name()].push_back(std::move(item));
  }

  void placeHost(const resources::Host& h) {
    const std::string owner = "Host/" + h.name();
    for (const auto& d : h.directories) {
      add(h, {PlacedKind::kDirectory, d.path, owner, "", std::nullopt, d.attributes});
    }
    for (const auto& e : h.etcHosts) {
      add(h, {PlacedKind::kEtcHostsEntry,
              e.ip,
              owner,
              e.ip + " " + joined(e.names, " "),
              std::nullopt,
              {}});
    }
    for (const auto& [key, value] : h.sysctls) {
      add(h, {PlacedKind::kSysctl, key, owner, key + " = " + value, std::nullopt, {}});
    }
    for (const auto& m : h.kernelModules) {
      add(h, {PlacedKind::kKernelModule, m, owner, "", std::nullopt, {}});
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

  void placeBundle(const resources::CertificateBundle& b) {
    const std::string owner = "CertificateBundle/" + b.name();
    for (const auto& f : b.files) {
      for (const resources::Host* h : state_.select(f.hosts)) {
        add(*h, {PlacedKind::kSecretFile, f.path, owner, describeSource(b, f), std::nullopt,
                 f.attributes});
      }
    }
  }

  void placeService(const resources::ControlPlaneService& s) {
    const std::string owner = "ControlPlaneService/" + s.name();
    for (const resources::Host* h : state_.select(s.hosts)) {
      std::string origin = !s.binary.url.empty()    ? "from " + s.binary.url
                           : !s.binary.file.empty() ? "from local file " + s.binary.file
                                                    : "present on the host";
      if (!s.binary.sha256.empty()) origin += ", sha256 " + s.binary.sha256.substr(0, 12) + "…";
      add(*h, {PlacedKind::kBinary, s.binary.path, owner, origin, std::nullopt,
               FileAttributes{"root", "root", 0755}});
      for (const auto& f : s.configFiles) {
        auto content = substituter_.resolve(f.content, h, out_);
        add(*h, {PlacedKind::kFile, f.path, owner, "config file", content, f.attributes});
      }
      auto unit = renderUnit(s, *h, substituter_, out_);
      add(*h, {PlacedKind::kFile, "/etc/systemd/system/" + s.unit.name, owner, "systemd unit", unit,
               FileAttributes{"root", "root", 0644}});
      add(*h, {PlacedKind::kService, s.unit.name, owner, "enabled and running", std::nullopt, {}});
    }
  }

  void placeLoadBalancer(const resources::LoadBalancer& lb) {
    const std::string owner = "LoadBalancer/" + lb.name();
    const resources::Host* host = state_.findHost(lb.host);
    if (host != nullptr) {
      auto backends = loadBalancerBackends(state_, lb);
      const bool haproxy = lb.implementation == "haproxy";
      auto config =
          haproxy ? renderHaproxyConfig(lb, backends) : renderNginxStreamConfig(lb, backends);
      add(*host, {PlacedKind::kFile, lb.configPath, owner, lb.implementation + " configuration",
                  rendered(config, lb.marks.self, "spec"), FileAttributes{"root", "root", 0644}});
      add(*host, {PlacedKind::kService,
                  haproxy ? "haproxy.service" : "nginx.service",
                  owner,
                  "enabled and running; reloaded on change",
                  std::nullopt,
                  {}});
    }
    if (!lb.healthzProxy.enabled) return;
    for (const resources::Host* h : state_.select(lb.healthzProxy.hosts)) {
      const std::string site = "/etc/nginx/sites-available/" + lb.healthzProxy.serverName;
      add(*h, {PlacedKind::kFile, site, owner, "nginx /healthz proxy site",
               rendered(renderHealthzProxySite(lb.healthzProxy), lb.marks.of("healthzProxy"),
                        "spec.healthzProxy"),
               FileAttributes{"root", "root", 0644}});
      add(*h, {PlacedKind::kSymlink,
               "/etc/nginx/sites-enabled/" + lb.healthzProxy.serverName,
               owner,
               "-> " + site,
               std::nullopt,
               {}});
      add(*h,
          {PlacedKind::kService, "nginx.service", owner, "enabled and running", std::nullopt, {}});
    }
  }

  const resources::DesiredState& state_;
  resources::Diagnostics& out_;
  resources::Substituter substituter_;
  std::map<std::string, std::vector<PlacedItem>> byHost_;
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
  }
  return "item";
}

}  // namespace kthw::reconcilers
