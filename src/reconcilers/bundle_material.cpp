#include "reconcilers/bundle_material.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "resources/substitution.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;

std::string day(Clock::time_point t) {
  const std::time_t tt = Clock::to_time_t(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&tt));
  return buf;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string joinList(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "none" : out;
}

runtime::CertificateRequest requestFor(const resources::Subject& s) {
  runtime::CertificateRequest r;
  r.commonName = s.commonName;
  r.organizations = s.organizations;
  r.organizationalUnits = s.organizationalUnits;
  r.countries = s.countries;
  r.provinces = s.provinces;
  r.localities = s.localities;
  return r;
}

class Preparer {
 public:
  Preparer(const resources::DesiredState& state, const resources::CertificateBundle& b,
           runtime::SecretStore* store, bool generate, Clock::time_point now)
      : state_(state), b_(b), store_(store), generate_(generate), now_(now) {}

  StatusOr<BundleMaterial> run() {
    for (const auto& a : b_.authorities) {
      if (Status s = authority(a); !s.ok()) return s;
    }
    for (const auto& c : b_.certificates) {
      if (Status s = certificate(c); !s.ok()) return s;
    }
    for (const auto& k : b_.keyPairs) {
      if (Status s = keyPair(k); !s.ok()) return s;
    }
    for (const auto& e : b_.encryptionConfigs) {
      if (Status s = encryptionKey(e); !s.ok()) return s;
    }
    return std::move(m_);
  }

 private:
  std::string path(const std::string& kind, const std::string& name, const char* ext) const {
    return storePath(b_, kind, name, ext);
  }
  std::optional<std::string> load(const std::string& p) const {
    return store_ != nullptr ? store_->read(p) : std::nullopt;
  }
  Status save(const std::string& p, const std::string& content) {
    return store_->write(p, content);
  }

  Status authority(const resources::Authority& a) {
    const std::string certPath = path("authorities", a.name, ".crt");
    const std::string keyPath = path("authorities", a.name, ".key");
    auto cert = load(certPath);
    auto key = load(keyPath);
    if (cert && key) {
      m_.certificates[a.name] = *cert;
      m_.keys[a.name] = runtime::PrivateKeyPem{*key};
      auto info = runtime::inspectCertificate(*cert);
      if (!info.ok()) return info.status();
      if (info->commonName != a.subject.commonName) {
        m_.problems.push_back("authority " + a.name + " has CN " + info->commonName +
                              ", the spec says " + a.subject.commonName +
                              "; kthw does not rotate a CA on its own");
      }
      if (info->notAfter < now_ + kAuthorityRenewBefore) {
        m_.problems.push_back("authority " + a.name + " expires on " + day(info->notAfter) +
                              "; rotate it deliberately (kthw never does so silently)");
      }
      return okStatus();
    }
    m_.reasons[a.name] = "absent";
    if (!generate_) {
      m_.pending.insert(a.name);
      return okStatus();
    }
    auto newKey = runtime::generatePrivateKey(toKeyType(a.keyAlgorithm));
    if (!newKey.ok()) return newKey.status();
    runtime::CertificateRequest r = requestFor(a.subject);
    r.isCa = true;
    r.validity = a.validity;
    auto pem = runtime::issueCertificate(r, *newKey, "", *newKey, now_);
    if (!pem.ok()) return pem.status();
    if (Status s = save(keyPath, newKey->pem); !s.ok()) return s;
    if (Status s = save(certPath, *pem); !s.ok()) return s;
    m_.certificates[a.name] = *pem;
    m_.keys[a.name] = *newKey;
    return okStatus();
  }

  // Why the stored certificate no longer serves the spec, or "" when it does.
  std::string reissueReason(const resources::Certificate& c, const std::string& cert,
                            const runtime::PrivateKeyPem& key, const std::vector<std::string>& dns,
                            const std::vector<std::string>& ips) {
    auto info = runtime::inspectCertificate(cert);
    if (!info.ok()) return "unreadable: " + info.status().message();
    if (info->keyType != toKeyType(c.keyAlgorithm)) {
      return "key algorithm differs (want " +
             std::string(runtime::keyTypeName(toKeyType(c.keyAlgorithm))) + ")";
    }
    if (!runtime::keyMatches(cert, key)) return "certificate and key do not match";
    if (info->commonName != c.subject.commonName) {
      return "CN " + info->commonName + ", want " + c.subject.commonName;
    }
    if (sorted(info->organizations) != sorted(c.subject.organizations)) {
      return "O " + joinList(info->organizations) + ", want " + joinList(c.subject.organizations);
    }
    if (info->dnsNames != dns) {
      return "DNS SANs " + joinList(info->dnsNames) + ", want " + joinList(dns);
    }
    if (info->ipAddresses != ips) {
      return "IP SANs " + joinList(info->ipAddresses) + ", want " + joinList(ips);
    }
    if (info->serverAuth != c.serverAuth || info->clientAuth != c.clientAuth) {
      return "usages differ";
    }
    auto issuer = m_.certificates.find(c.issuer);
    if (issuer == m_.certificates.end() || !runtime::signedBy(cert, issuer->second)) {
      return "not signed by the current authority " + c.issuer;
    }
    if (info->notAfter <= now_ + c.renewBefore) {
      return "expires " + day(info->notAfter) + ", within renewBefore";
    }
    return "";
  }

  Status certificate(const resources::Certificate& c) {
    resources::Substituter sub(state_);
    resources::Diagnostics problems;
    const std::vector<std::string> dns = sorted(sub.resolveAll(c.dnsNames, nullptr, problems));
    const std::vector<std::string> ips = sorted(sub.resolveAll(c.ipAddresses, nullptr, problems));
    if (!problems.empty()) return invalidArgument(problems.front().toString());
    const std::string certPath = path("certificates", c.name, ".crt");
    const std::string keyPath = path("certificates", c.name, ".key");
    auto cert = load(certPath);
    auto key = load(keyPath);
    std::string reason = "absent";
    if (cert && key) {
      reason = m_.pending.count(c.issuer) != 0
                   ? "its authority " + c.issuer + " is issued first"
                   : reissueReason(c, *cert, runtime::PrivateKeyPem{*key}, dns, ips);
      if (reason.empty()) {
        m_.certificates[c.name] = *cert;
        m_.keys[c.name] = runtime::PrivateKeyPem{*key};
        return okStatus();
      }
    }
    // A reissue gets a fresh key: the old one may be why the certificate is replaced. Not so
    // for a certificate that signs service-account tokens: its key is kept while it belongs to
    // the certificate and has the spec's algorithm, so that the tokens stay valid.
    bool keep = false;
    if (key && signsServiceAccountTokens(state_, b_, c.name)) {
      const runtime::PrivateKeyPem old{*key};
      auto type = runtime::privateKeyType(old);
      keep = type.ok() && *type == toKeyType(c.keyAlgorithm) &&
             (!cert || runtime::keyMatches(*cert, old));
    }
    m_.reasons[c.name] =
        keep ? reason + "; its key is kept: it signs service-account tokens" : reason;
    if (!generate_) {
      m_.pending.insert(c.name);
      return okStatus();
    }
    StatusOr<runtime::PrivateKeyPem> newKey = runtime::PrivateKeyPem{key.value_or("")};
    if (!keep) newKey = runtime::generatePrivateKey(toKeyType(c.keyAlgorithm));
    if (!newKey.ok()) return newKey.status();
    runtime::CertificateRequest r = requestFor(c.subject);
    r.dnsNames = dns;
    r.ipAddresses = ips;
    r.serverAuth = c.serverAuth;
    r.clientAuth = c.clientAuth;
    r.validity = c.validity;
    auto pem = runtime::issueCertificate(r, *newKey, m_.certificates.at(c.issuer),
                                         m_.keys.at(c.issuer), now_);
    if (!pem.ok()) return pem.status();
    if (Status s = save(keyPath, newKey->pem); !s.ok()) return s;
    if (Status s = save(certPath, *pem); !s.ok()) return s;
    m_.certificates[c.name] = *pem;
    m_.keys[c.name] = *newKey;
    return okStatus();
  }

  Status keyPair(const resources::KeyPair& k) {
    const std::string keyPath = path("keypairs", k.name, ".key");
    if (auto key = load(keyPath)) {
      auto type = runtime::privateKeyType(runtime::PrivateKeyPem{*key});
      if (type.ok() && *type == toKeyType(k.keyAlgorithm)) {
        m_.keys[k.name] = runtime::PrivateKeyPem{*key};
        return okStatus();
      }
      m_.reasons[k.name] = "key algorithm differs";
    } else {
      m_.reasons[k.name] = "absent";
    }
    if (!generate_) {
      m_.pending.insert(k.name);
      return okStatus();
    }
    auto newKey = runtime::generatePrivateKey(toKeyType(k.keyAlgorithm));
    if (!newKey.ok()) return newKey.status();
    if (Status s = save(keyPath, newKey->pem); !s.ok()) return s;
    m_.keys[k.name] = *newKey;
    return okStatus();
  }

  // Keys file: one "generation base64" line per key, in provider order.
  static EncryptionKeys parseKeys(const std::string& text) {
    EncryptionKeys k;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("stage ")) {
        k.stage = line.substr(6);
        continue;
      }
      const size_t space = line.find(' ');
      if (space == std::string::npos) continue;
      k.keys.emplace_back(std::atoi(line.substr(0, space).c_str()), line.substr(space + 1));
    }
    return k;
  }

  // The next stage of a rotation, or nullopt when the config is where the spec wants it.
  std::optional<EncryptionKeys> nextStage(const resources::EncryptionConfigSpec& e,
                                          const EncryptionKeys& k, const std::string& deployed,
                                          std::string& reason, bool& needsNewKey) {
    const int newest = k.keys.empty() ? 0 : std::max_element(k.keys.begin(), k.keys.end())->first;
    EncryptionKeys next = k;
    needsNewKey = false;
    if (k.keys.empty()) {
      reason = "absent";
      needsNewKey = true;
      next.stage = "steady";
      return next;
    }
    if (e.keyGeneration > newest) {
      if (k.stage != "steady") {
        m_.problems.push_back("encryption config " + e.name + ": keyGeneration " +
                              std::to_string(e.keyGeneration) + " waits for the rotation to " +
                              std::to_string(newest) + " to finish");
        return std::nullopt;
      }
      reason = "rotation to key " + std::to_string(e.keyGeneration) + ": added as second key";
      needsNewKey = true;
      next.stage = "added";
      return next;
    }
    if (k.stage == "added" && deployed == "added") {
      reason = "rotation to key " + std::to_string(newest) + ": promoted to first key";
      std::swap(next.keys.front(), next.keys.back());
      next.stage = "promoted";
      return next;
    }
    if (k.stage == "promoted" && deployed == "promoted" && e.retirePreviousKey) {
      reason = "rotation to key " + std::to_string(newest) + ": previous key removed";
      for (size_t i = 1; i < next.keys.size(); ++i) next.retired.push_back(next.keys[i].second);
      next.keys.resize(1);
      next.stage = "steady";
      return next;
    }
    if (k.stage == "promoted" && deployed == "promoted") {
      m_.problems.push_back("encryption config " + e.name + ": key " + std::to_string(newest) +
                            " encrypts; rewrite the secrets, then set retirePreviousKey: true");
    }
    return std::nullopt;
  }

  Status encryptionKey(const resources::EncryptionConfigSpec& e) {
    const std::string keysPath = path("encryption", e.name, ".keys");
    const std::string deployedPath = path("encryption", e.name, ".deployed");
    const std::string retiredPath = path("encryption", e.name, ".retired");
    EncryptionKeys current = parseKeys(load(keysPath).value_or(""));
    std::istringstream retired(load(retiredPath).value_or(""));
    for (std::string line; std::getline(retired, line);) {
      if (!line.empty()) current.retired.push_back(line);
    }
    const std::string deployed = load(deployedPath).value_or("");
    std::string reason;
    bool needsNewKey = false;
    auto next = nextStage(e, current, deployed, reason, needsNewKey);
    if (!next) {
      m_.encryptionKeys[e.name] = current;
      return okStatus();
    }
    m_.reasons[e.name] = reason;
    if (needsNewKey && !generate_) {
      m_.pending.insert(e.name);
      m_.encryptionKeys[e.name] = current;  // what the store created so far, for the guard
      return okStatus();
    }
    if (needsNewKey) {
      auto bytes = runtime::randomBytes(32);
      if (!bytes.ok()) return bytes.status();
      next->keys.emplace_back(std::max(1, e.keyGeneration), runtime::base64Encode(*bytes));
    }
    if (generate_ && next->retired.size() != current.retired.size()) {
      // Before the keys file, so that a key leaves the config only once it is kept here.
      std::string lines;
      for (const std::string& key : next->retired) lines += key + "\n";
      if (Status s = save(retiredPath, lines); !s.ok()) return s;
    }
    if (generate_) {
      if (Status s = save(keysPath, formatEncryptionKeys(*next)); !s.ok()) return s;
    }
    m_.encryptionKeys[e.name] = *next;
    return okStatus();
  }

  const resources::DesiredState& state_;
  const resources::CertificateBundle& b_;
  runtime::SecretStore* store_;
  bool generate_;
  Clock::time_point now_;
  BundleMaterial m_;
};

}  // namespace

runtime::KeyType toKeyType(resources::KeyAlgorithm a) {
  switch (a) {
    case resources::KeyAlgorithm::kRsa2048:
      return runtime::KeyType::kRsa2048;
    case resources::KeyAlgorithm::kRsa3072:
      return runtime::KeyType::kRsa3072;
    case resources::KeyAlgorithm::kRsa4096:
      return runtime::KeyType::kRsa4096;
    case resources::KeyAlgorithm::kEcdsaP256:
      return runtime::KeyType::kEcdsaP256;
    case resources::KeyAlgorithm::kEcdsaP384:
      return runtime::KeyType::kEcdsaP384;
    case resources::KeyAlgorithm::kEcdsaP521:
      return runtime::KeyType::kEcdsaP521;
  }
  return runtime::KeyType::kEcdsaP256;
}

StatusOr<BundleMaterial> prepareMaterial(const resources::DesiredState& state,
                                         const resources::CertificateBundle& bundle,
                                         runtime::SecretStore* store, bool generate,
                                         std::chrono::system_clock::time_point now) {
  return Preparer(state, bundle, store, generate, now).run();
}

}  // namespace kthw::reconcilers
