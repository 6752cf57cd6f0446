// Adopting authorities and certificates, a service-account token certificate among them.
#include "reconcilers/adoption_planner.h"
#include "runtime/pki.h"

namespace kthw::reconcilers::adoption {

void Planner::authority(const std::string& name) {
  const std::string what = "authority " + name;
  const std::string certPath = storePath(b_, "authorities", name, ".crt");
  const std::string keyPath = storePath(b_, "authorities", name, ".key");
  const std::vector<Copy> certs = copies(ContentKind::kCertificate, name);
  if (certs.empty()) {
    const auto have = stored(certPath);
    if (have) issuers_[name] = *have;
    add(what, Material::kPrecious, have ? Outcome::kAlreadyStored : Outcome::kNotFound,
        have ? "in the store; on no host yet" : "on no host; kthw apply issues it");
    return;
  }
  std::map<std::string, std::string> fingerprints;  // where -> sha256 of the DER certificate
  for (const Copy& c : certs) {
    auto info = runtime::inspectCertificate(c.content);
    if (!info.ok()) {
      add(what, Material::kPrecious, Outcome::kRefused, c.where + " is not a certificate");
      return;
    }
    if (!info->isCa) {
      add(what, Material::kPrecious, Outcome::kRefused,
          c.where + " (" + info->subject + ") is not a CA certificate");
      return;
    }
    fingerprints[c.where] = "sha256 " + info->sha256Fingerprint.substr(0, 23) + "...";
  }
  if (auto d = disagreement(certs, [&](const Copy& c) { return fingerprints.at(c.where); })) {
    add(what, Material::kPrecious, Outcome::kRefused, *d);
    return;
  }
  const Copy& cert = certs.front();
  const std::string fingerprint = fingerprints.at(cert.where);
  std::string note;
  if (auto have = stored(certPath)) {
    auto info = runtime::inspectCertificate(*have);
    const std::string ours =
        info.ok() ? "sha256 " + info->sha256Fingerprint.substr(0, 23) + "..." : "unreadable";
    if (ours == fingerprint) {
      add(what, Material::kPrecious, Outcome::kAlreadyStored, "the same CA (" + fingerprint + ")");
      issuers_[name] = *have;
      return;
    }
    if (!setAside(what, "CA " + fingerprint, "CA " + ours, {certPath, keyPath}, note)) return;
  } else if (stored(keyPath)) {
    // A key without its certificate (a crash between the two writes) is precious too.
    if (!setAside(what, "CA " + fingerprint, "a key of " + name + " without its certificate",
                  {keyPath}, note)) {
      return;
    }
  }
  const std::vector<Copy> keys = copies(ContentKind::kKey, name);
  if (keys.empty()) {
    add(what, Material::kPrecious, Outcome::kRefused,
        "its certificate is at " + cert.where +
            ", but no host has its private key where the desired state places {key: " + name +
            "}; kthw needs the key to sign leaves");
    return;
  }
  for (const Copy& k : keys) {
    if (!runtime::keyMatches(cert.content, runtime::PrivateKeyPem{k.content})) {
      add(what, Material::kPrecious, Outcome::kRefused,
          "the private key at " + k.where + " does not belong to the CA certificate at " +
              cert.where);
      return;
    }
  }
  out_.imports[certPath] = cert.content;
  out_.imports[keyPath] = keys.front().content;
  issuers_[name] = cert.content;
  add(what, Material::kPrecious, Outcome::kImported,
      "from " + cert.where + " and " + keys.front().where + " (" + fingerprint + ", " +
          agreeing(certs.size()) + ")" + note);
}

void Planner::tokenCertificate(const resources::Certificate& c, const std::string& what) {
  const std::string certPath = storePath(b_, "certificates", c.name, ".crt");
  const std::string keyPath = storePath(b_, "certificates", c.name, ".key");
  std::vector<Copy> certs = copies(ContentKind::kCertificate, c.name);
  std::vector<Copy> keys = copies(ContentKind::kKey, c.name);
  embeddedIn(c.name, certs, keys);
  if (keys.empty()) {
    const bool have = stored(keyPath).has_value();
    if (have || certs.empty()) {
      add(what, Material::kPrecious, have ? Outcome::kAlreadyStored : Outcome::kNotFound,
          have ? "in the store" : "on no host; kthw apply issues it");
    } else {
      add(what, Material::kPrecious, Outcome::kRefused,
          "its certificate is at " + certs.front().where +
              ", but no host has its key where the desired state places it; it signs "
              "service-account tokens, and a new key invalidates every token");
    }
    return;
  }
  const auto agreed = agreedPublicKey(what, keys);
  if (!agreed) return;
  const Copy& key = keys.front();
  const std::string& pub = *agreed;
  std::string note;
  if (auto have = stored(keyPath)) {
    auto storedPub = runtime::publicKeyPem(runtime::PrivateKeyPem{*have});
    const std::string ours = storedPub.ok() ? trimmed(*storedPub) : "";
    if (ours == pub) {
      add(what, Material::kPrecious, Outcome::kAlreadyStored,
          "the same key (" + publicKeyName(pub) + "); it signs service-account tokens");
      return;
    }
    if (!setAside(what, publicKeyName(pub),
                  ours.empty() ? "an unreadable key" : publicKeyName(ours), {certPath, keyPath},
                  note)) {
      return;
    }
  }
  // Its certificate: a copy that belongs to the key, one its authority signed if there is one.
  // Without one, apply reissues the certificate and keeps the key.
  const Copy* cert = nullptr;
  auto issuer = issuers_.find(c.issuer);
  for (const Copy& copy : certs) {
    if (!runtime::keyMatches(copy.content, runtime::PrivateKeyPem{key.content})) continue;
    if (cert == nullptr) cert = &copy;
    if (issuer != issuers_.end() && runtime::signedBy(copy.content, issuer->second)) {
      cert = &copy;
      break;
    }
  }
  out_.imports[keyPath] = key.content;
  if (cert != nullptr) out_.imports[certPath] = cert->content;
  add(what, Material::kPrecious, Outcome::kImported,
      "its key from " + key.where +
          (cert != nullptr ? ", its certificate from " + cert->where : std::string()) + " (" +
          publicKeyName(pub) + ", " + agreeing(keys.size()) + "; it signs service-account tokens)" +
          note);
}

void Planner::certificate(const resources::Certificate& c) {
  const std::string what = "certificate " + c.name;
  if (signsServiceAccountTokens(state_, b_, c.name)) {
    tokenCertificate(c, what);
    return;
  }
  const std::string certPath = storePath(b_, "certificates", c.name, ".crt");
  auto issuer = issuers_.find(c.issuer);
  const auto have = stored(certPath);
  // A leaf of an authority that was set aside is replaced by the hosts' copy, if usable.
  if (have && (issuer == issuers_.end() || runtime::signedBy(*have, issuer->second))) {
    add(what, Material::kDerivable, Outcome::kAlreadyStored, "the store has one");
    return;
  }
  std::vector<Copy> certs = copies(ContentKind::kCertificate, c.name);
  std::vector<Copy> keys = copies(ContentKind::kKey, c.name);
  embeddedIn(c.name, certs, keys);
  if (certs.empty()) {
    add(what, Material::kDerivable, Outcome::kNotFound, "on no host; kthw apply issues it");
    return;
  }
  if (issuer == issuers_.end()) {
    add(what, Material::kDerivable, Outcome::kLeft,
        "its authority " + c.issuer + " is not adopted; kthw apply reissues it");
    return;
  }
  std::string why = "no copy is signed by authority " + c.issuer;
  for (const Copy& cert : certs) {
    if (!runtime::signedBy(cert.content, issuer->second)) continue;
    why = "no private key found for it matches " + cert.where;
    for (const Copy& key : keys) {
      if (!runtime::keyMatches(cert.content, runtime::PrivateKeyPem{key.content})) continue;
      out_.imports[certPath] = cert.content;
      out_.imports[storePath(b_, "certificates", c.name, ".key")] = key.content;
      add(what, Material::kDerivable, Outcome::kImported,
          "from " + cert.where + " and " + key.where);
      return;
    }
  }
  add(what, Material::kDerivable, Outcome::kLeft, why + "; kthw apply reissues it");
}

}  // namespace kthw::reconcilers::adoption
