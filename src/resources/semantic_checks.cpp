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
  for (const Host& h : state_.hosts) {
    checkHost(h, out_);
    checkProxyJump(h);
  }
  for (const CertificateBundle& b : state_.bundles) checkBundle(b);
  for (const ControlPlaneService& s : state_.services) checkService(s);
  for (const LoadBalancer& lb : state_.loadBalancers) checkLoadBalancer(lb);
  checkClusterCidrs();
  checkRoleRefs();
}

void Checker::checkProxyJump(const Host& h) {
  if (!h.ssh.proxyJump) return;
  const ProxyJump& j = *h.ssh.proxyJump;
  const std::string path = "spec.ssh.proxyJump";
  if (h.transport == TransportKind::kLocal) {
    fail(j.marks.self, path,
         "a host with transport: local is not reached over SSH; remove proxyJump");
    return;
  }
  if (j.host.empty() == j.address.empty()) {
    fail(j.marks.self, path,
         "set host (a Host to jump through) or address ([user@]host[:port] with hostKey), not " +
             std::string(j.host.empty() ? "neither" : "both"));
    return;
  }
  if (!j.address.empty()) {
    if (j.hostKey.empty()) {
      fail(j.marks.self, path + ".hostKey",
           "required with address: the bastion's host key is pinned like the host's own");
    }
    const size_t colon = j.address.rfind(':');
    if (colon != std::string::npos) {
      const int port = std::stoi(j.address.substr(colon + 1));
      if (port < 1 || port > 65535) {
        fail(j.marks.of("address"), path + ".address",
             "port " + std::to_string(port) + " is not between 1 and 65535");
      }
    }
    return;
  }
  if (!j.hostKey.empty()) {
    fail(j.marks.of("hostKey"), path + ".hostKey",
         "the key of Host " + quoteValue(j.host) + " is its own spec.ssh.hostKey; remove this");
  }
  if (j.host == h.name()) {
    fail(j.marks.of("host"), path + ".host", "a host cannot be its own jump host");
    return;
  }
  const Host* via = state_.findHost(j.host);
  if (via == nullptr) {
    failMissing(j.marks.of("host"), path + ".host", "no Host named " + quoteValue(j.host), "Host",
                j.host);
  } else if (via->transport == TransportKind::kLocal) {
    fail(j.marks.of("host"), path + ".host",
         "Host " + quoteValue(j.host) + " has transport: local; a jump host is reached over SSH");
  } else if (via->ssh.proxyJump) {
    fail(j.marks.of("host"), path + ".host",
         "Host " + quoteValue(j.host) +
             " is itself reached through a jump host; kthw jumps through one bastion only");
  }
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
  if (b.sealedStore) checkSealedStore(*b.sealedStore);
}

// The shape of an age X25519 recipient: "age1" and 58 bech32 characters (32 bytes and the
// checksum). The checksum itself is verified where the key is used, by the age implementation.
void Checker::checkSealedStore(const SealedStore& s) {
  constexpr std::string_view kBech32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  for (size_t i = 0; i < s.recipients.size(); ++i) {
    const std::string& r = s.recipients[i];
    const std::string path = "spec.sealedStore.recipients[" + std::to_string(i) + "]";
    if (r.starts_with("AGE-SECRET-KEY-")) {
      // Not echoed: it is a secret key, and this message may end up in a CI log.
      fail(s.recipientMarks[i], path,
           "this is an age secret key, which must never be in the desired state; give its "
           "public key (age-keygen -y) and remove the secret key from the file's history");
      continue;
    }
    const bool shaped =
        r.size() == 62 && r.starts_with("age1") && std::all_of(r.begin() + 4, r.end(), [&](char c) {
          return kBech32.find(c) != std::string_view::npos;
        });
    if (!shaped) {
      fail(s.recipientMarks[i], path,
           quoteValue(r) +
               " is not an age public key (age1 and 58 lower-case bech32 "
               "characters, as age-keygen -y prints it)");
    }
  }
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
