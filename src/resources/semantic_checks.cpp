#include "resources/semantic_checks.h"

#include <algorithm>
#include <map>

#include "resources/formats.h"
#include "resources/host_checks.h"
#include "resources/substitution.h"

namespace kthw::resources {
namespace {

std::string at(const Mark& m) { return m.fileName() + ":" + std::to_string(m.line); }

template <typename T>
void checkUniqueNames(const std::vector<T>& items, std::string_view kind, Diagnostics& out) {
  std::map<std::string, const ObjectMeta*> seen;
  for (const T& item : items) {
    auto [it, inserted] = seen.emplace(item.name(), &item.metadata);
    if (!inserted) {
      out.push_back(Diagnostic{item.metadata.nameMark, "metadata.name",
                               "duplicate " + std::string(kind) + " \"" + item.name() +
                                   "\" (first defined at " + at(it->second->nameMark) + ")"});
    }
  }
}

class Checker {
 public:
  Checker(const DesiredState& state, const KnownNames& invalid, Diagnostics& out)
      : state_(state), invalid_(invalid), out_(out), substituter_(state) {}

  void run() {
    checkUniqueNames(state_.hosts, "Host", out_);
    checkUniqueNames(state_.bundles, "CertificateBundle", out_);
    checkUniqueNames(state_.services, "ControlPlaneService", out_);
    checkUniqueNames(state_.loadBalancers, "LoadBalancer", out_);
    checkRbacNames();
    for (const Host& h : state_.hosts) checkHost(h, out_);
    for (const CertificateBundle& b : state_.bundles) checkBundle(b);
    for (const ControlPlaneService& s : state_.services) checkService(s);
    for (const LoadBalancer& lb : state_.loadBalancers) checkLoadBalancer(lb);
    checkClusterCidrs();
    checkRoleRefs();
  }

 private:
  void fail(const Mark& mark, std::string path, std::string message) {
    out_.push_back(Diagnostic{mark, std::move(path), std::move(message)});
  }

  bool anyInvalidHost() const {
    return std::any_of(invalid_.begin(), invalid_.end(),
                       [](const auto& entry) { return entry.first == "Host"; });
  }

  bool knownInvalid(std::string_view kind, const std::string& name) const {
    return invalid_.count({std::string(kind), name}) > 0;
  }

  void checkRbacNames() {
    std::map<std::pair<std::string, std::string>, const RbacObject*> seen;
    for (const RbacObject& o : state_.rbac) {
      auto [it, inserted] = seen.emplace(std::make_pair(o.kind, o.name()), &o);
      if (!inserted) {
        fail(o.metadata.nameMark, "metadata.name",
             "duplicate " + o.kind + " \"" + o.name() + "\" (first defined at " +
                 at(it->second->metadata.nameMark) + ")");
      }
    }
  }

  std::vector<const Host*> checkTarget(const HostTarget& t) {
    for (size_t i = 0; i < t.names.size(); ++i) {
      if (state_.findHost(t.names[i]) == nullptr && !knownInvalid("Host", t.names[i])) {
        fail(i < t.nameMarks.size() ? t.nameMarks[i] : t.mark,
             t.path + ".names[" + std::to_string(i) + "]", "no Host named \"" + t.names[i] + "\"");
      }
    }
    auto hosts = state_.select(t);
    if (!t.selector.empty()) {
      HostTarget selectorOnly{t.selector, {}, t.mark, t.path, t.selectorMark, {}};
      if (state_.select(selectorOnly).empty() && !anyInvalidHost()) {
        std::string text;
        for (const auto& [k, v] : t.selector) text += (text.empty() ? "" : ",") + k + "=" + v;
        fail(t.selectorMark, t.path + ".selector", "selector " + text + " matches no Host");
      }
    }
    return hosts;
  }

  void checkBundle(const CertificateBundle& b);
  void checkBundleFiles(const CertificateBundle& b);
  void checkService(const ControlPlaneService& s);
  void checkServiceOnHost(const ControlPlaneService& s, const Host& h);
  void checkLoadBalancer(const LoadBalancer& lb);
  void checkClusterCidrs();
  void checkRoleRefs();
  void claimPath(const Host& h, const std::string& path, const Mark& mark,
                 const std::string& fieldPath, const std::string& owner);

  const DesiredState& state_;
  const KnownNames& invalid_;
  Diagnostics& out_;
  Substituter substituter_;
  // host -> path -> who places it there
  std::map<std::string, std::map<std::string, std::string>> paths_;
  std::map<std::string, std::map<std::string, std::string>> components_;
};

void Checker::claimPath(const Host& h, const std::string& path, const Mark& mark,
                        const std::string& fieldPath, const std::string& owner) {
  auto [it, inserted] = paths_[h.name()].emplace(path, owner);
  if (!inserted && it->second != owner) {
    fail(mark, fieldPath, path + " on host " + h.name() + " is also placed by " + it->second);
  }
}

void Checker::checkBundle(const CertificateBundle& b) {
  std::map<std::string, std::string> names;  // name -> what
  auto claim = [&](const std::string& name, const std::string& what, const Mark& mark,
                   const std::string& path) {
    auto [it, inserted] = names.emplace(name, what);
    if (!inserted) {
      fail(mark, path, "name \"" + name + "\" is already used by " + it->second);
    }
  };
  for (size_t i = 0; i < b.authorities.size(); ++i) {
    claim(b.authorities[i].name, "an authority", b.authorities[i].mark,
          "spec.authorities[" + std::to_string(i) + "].name");
  }
  for (size_t i = 0; i < b.certificates.size(); ++i) {
    const Certificate& c = b.certificates[i];
    const std::string path = "spec.certificates[" + std::to_string(i) + "]";
    claim(c.name, "a certificate", c.mark, path + ".name");
    if (names.count(c.issuer) == 0 || names[c.issuer] != "an authority") {
      const bool isAuthority = std::any_of(b.authorities.begin(), b.authorities.end(),
                                           [&](const Authority& a) { return a.name == c.issuer; });
      if (!isAuthority) {
        fail(c.issuerMark, path + ".issuer", "no authority named \"" + c.issuer + "\"");
      }
    }
    if (c.renewBefore >= c.validity) {
      fail(c.marks.of("renewBefore"), path + ".renewBefore", "must be shorter than the validity");
    }
    for (const Text& t : c.dnsNames) {
      for (const std::string& v : substituter_.resolveAll({t}, nullptr, out_)) {
        const std::string bare = v.starts_with("*.") ? v.substr(2) : v;
        if (!isHostname(bare)) fail(t.mark, t.path, "\"" + v + "\" is not a DNS name");
      }
    }
    for (const Text& t : c.ipAddresses) {
      for (const std::string& v : substituter_.resolveAll({t}, nullptr, out_)) {
        if (!isIPv4(v) && !isIPv6(v)) fail(t.mark, t.path, "\"" + v + "\" is not an IP address");
      }
    }
  }
  for (size_t i = 0; i < b.keyPairs.size(); ++i) {
    claim(b.keyPairs[i].name, "a key pair", b.keyPairs[i].mark,
          "spec.keyPairs[" + std::to_string(i) + "].name");
  }
  for (size_t i = 0; i < b.kubeconfigs.size(); ++i) {
    const Kubeconfig& k = b.kubeconfigs[i];
    const std::string path = "spec.kubeconfigs[" + std::to_string(i) + "]";
    auto cert = std::find_if(b.certificates.begin(), b.certificates.end(),
                             [&](const Certificate& c) { return c.name == k.certificate; });
    if (cert == b.certificates.end()) {
      fail(k.certificateMark, path + ".certificate",
           "no certificate named \"" + k.certificate + "\"");
    } else if (!cert->clientAuth) {
      fail(k.certificateMark, path + ".certificate",
           "certificate \"" + k.certificate + "\" lacks the client usage a kubeconfig needs");
    }
    if (auto server = substituter_.resolve(k.server, nullptr, out_)) {
      if (!server->starts_with("https://")) {
        fail(k.server.mark, k.server.path, "the server must be an https:// URL");
      }
    }
  }
  checkBundleFiles(b);
}

void Checker::checkBundleFiles(const CertificateBundle& b) {
  auto exists = [&](ContentKind kind, const std::string& name) {
    auto named = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.name == name; });
    };
    switch (kind) {
      case ContentKind::kCertificate:
        return named(b.authorities) || named(b.certificates);
      case ContentKind::kKey:
        return named(b.authorities) || named(b.certificates) || named(b.keyPairs);
      case ContentKind::kPublicKey:
        return named(b.certificates) || named(b.keyPairs);
      case ContentKind::kKubeconfig:
        return named(b.kubeconfigs);
      case ContentKind::kEncryptionConfig:
        return named(b.encryptionConfigs);
    }
    return false;
  };
  for (size_t i = 0; i < b.files.size(); ++i) {
    const BundleFile& f = b.files[i];
    const std::string path = "spec.files[" + std::to_string(i) + "]";
    if (!exists(f.kind, f.source)) {
      fail(f.sourceMark, f.sourcePath,
           "no " + std::string(contentKindName(f.kind)) + " named \"" + f.source +
               "\" in this bundle");
    }
    if (isSecretContent(f.kind) && (f.attributes.mode & 077) != 0) {
      fail(f.marks.of("mode"), path + ".mode",
           "private material must not be readable by group or others; use \"0600\"");
    }
    for (const Host* h : checkTarget(f.hosts)) {
      claimPath(*h, f.path, f.marks.of("path"), path + ".path",
                "CertificateBundle/" + b.name() + " " + path);
    }
  }
}

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
    if (b == nullptr && !knownInvalid("CertificateBundle", s.health.certificateBundle)) {
      fail(s.health.marks.of("certificateBundle"), "spec.health.certificateBundle",
           "no CertificateBundle named \"" + s.health.certificateBundle + "\"");
    }
    auto has = [](const auto& list, const std::string& name) {
      return name.empty() ||
             std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.name == name; });
    };
    if (b != nullptr && !has(b->authorities, s.health.authority)) {
      fail(s.health.marks.of("authority"), "spec.health.authority",
           "no authority named \"" + s.health.authority + "\" in " + b->name());
    }
    if (b != nullptr && !has(b->certificates, s.health.clientCertificate)) {
      fail(s.health.marks.of("clientCertificate"), "spec.health.clientCertificate",
           "no certificate named \"" + s.health.clientCertificate + "\" in " + b->name());
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
           "\"" + *value + "\" is not an IP address (on host " + h.name() + ")");
    }
    if (name == "service-cluster-ip-range" || name == "cluster-cidr") {
      for (size_t start = 0; start <= value->size();) {
        size_t end = value->find(',', start);
        if (end == std::string::npos) end = value->size();
        const std::string cidr = value->substr(start, end - start);
        if (!parseCidr(cidr)) fail(f.value.mark, f.value.path, "\"" + cidr + "\" is not a CIDR");
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
  if (host == nullptr && !knownInvalid("Host", lb.host)) {
    fail(lb.hostMark, "spec.host", "no Host named \"" + lb.host + "\"");
  }
  if (host != nullptr) {
    const bool explicitPath = lb.marks.fields.count("configPath") > 0;
    claimPath(*host, lb.configPath, explicitPath ? lb.marks.of("configPath") : lb.hostMark,
              "spec.configPath", "LoadBalancer/" + lb.name());
  }
  checkTarget(lb.backends);
  if (lb.healthzProxy.enabled) checkTarget(lb.healthzProxy.hosts);
  if (!lb.routeBundle.empty()) {
    const CertificateBundle* b = state_.findBundle(lb.routeBundle);
    if (b == nullptr && !knownInvalid("CertificateBundle", lb.routeBundle)) {
      fail(lb.marks.of("routeCheck"), "spec.routeCheck.certificateBundle",
           "no CertificateBundle named \"" + lb.routeBundle + "\"");
    } else if (b != nullptr &&
               std::none_of(b->authorities.begin(), b->authorities.end(),
                            [&](const Authority& a) { return a.name == lb.routeAuthority; })) {
      fail(lb.marks.of("routeCheck"), "spec.routeCheck.authority",
           "no authority named \"" + lb.routeAuthority + "\" in " + b->name());
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
  for (const RbacObject& o : state_.rbac) {
    if (o.kind != "ClusterRoleBinding") continue;
    const std::string& ref = o.roleRefName;
    const bool declared = std::any_of(
        state_.rbac.begin(), state_.rbac.end(),
        [&](const RbacObject& r) { return r.kind == "ClusterRole" && r.name() == ref; });
    if (declared || ref.starts_with("system:") || kDefaultRoles.count(ref) > 0 ||
        knownInvalid("ClusterRole", ref)) {
      continue;
    }
    fail(o.roleRefMark, "roleRef.name",
         "no ClusterRole \"" + ref + "\" in the desired state, and it is not a default role");
  }
}

}  // namespace

void checkDesiredState(const DesiredState& state, const KnownNames& invalid, Diagnostics& out) {
  Checker(state, invalid, out).run();
}

}  // namespace kthw::resources
