#include "resources/semantic_checks.h"

#include <algorithm>
#include <map>

#include "resources/formats.h"
#include "resources/host_checks.h"
#include "resources/semantic_checker.h"
#include "resources/substitution.h"

namespace kthw::resources {
namespace semantic {
void Checker::run() {
  for (const Host& h : state_.hosts) checkHost(h, out_);
  for (const CertificateBundle& b : state_.bundles) checkBundle(b);
  for (const ControlPlaneService& s : state_.services) checkService(s);
  for (const LoadBalancer& lb : state_.loadBalancers) checkLoadBalancer(lb);
  checkClusterCidrs();
  checkRoleRefs();
}

std::vector<const Host*> Checker::checkTarget(const HostTarget& t) {
  for (size_t i = 0; i < t.names.size(); ++i) {
    if (hostNames_.count(t.names[i]) == 0) {
      failMissing(i < t.nameMarks.size() ? t.nameMarks[i] : t.mark,
                  t.path + ".names[" + std::to_string(i) + "]",
                  "no Host named " + quoteValue(t.names[i]), "Host", t.names[i]);
    }
  }
  auto hosts = state_.select(t);
  if (!t.selector.empty()) {
    HostTarget selectorOnly{t.selector, {}, t.mark, t.path, t.selectorMark, {}};
    if (state_.select(selectorOnly).empty()) {
      std::string text;
      for (const auto& [k, v] : t.selector) text += (text.empty() ? "" : ",") + k + "=" + v;
      failMissing(t.selectorMark, t.path + ".selector",
                  "selector " + escapeValue(text) + " matches no Host", "Host", "");
    }
  }
  return hosts;
}

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
      fail(mark, path, "name " + quoteValue(name) + " is already used by " + it->second);
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
        fail(c.issuerMark, path + ".issuer", "no authority named " + quoteValue(c.issuer));
      }
    }
    if (c.renewBefore >= c.validity) {
      fail(c.marks.of("renewBefore"), path + ".renewBefore", "must be shorter than the validity");
    }
    for (const Text& t : c.dnsNames) {
      for (const std::string& v : substituter_.resolveAll({t}, nullptr, out_)) {
        const std::string bare = v.starts_with("*.") ? v.substr(2) : v;
        if (!isHostname(bare)) fail(t.mark, t.path, quoteValue(v) + " is not a DNS name");
      }
    }
    for (const Text& t : c.ipAddresses) {
      for (const std::string& v : substituter_.resolveAll({t}, nullptr, out_)) {
        if (!isIPv4(v) && !isIPv6(v)) fail(t.mark, t.path, quoteValue(v) + " is not an IP address");
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
           "no certificate named " + quoteValue(k.certificate));
    } else if (!cert->clientAuth) {
      fail(k.certificateMark, path + ".certificate",
           "certificate " + quoteValue(k.certificate) +
               " lacks the client usage a kubeconfig needs");
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
           "no " + std::string(contentKindName(f.kind)) + " named " + quoteValue(f.source) +
               " in this bundle");
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

}  // namespace semantic

void checkDesiredState(const DesiredState& state, Diagnostics& out) {
  semantic::Checker(state, out).run();
}

}  // namespace kthw::resources
