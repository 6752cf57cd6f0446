// Where a bundle's material lives in the secret store, and which of it is precious.
#include <algorithm>
#include <set>

#include "reconcilers/bundle_material.h"
#include "resources/substitution.h"

namespace kthw::reconcilers {
namespace {

// Authorities and certificates share one namespace within a bundle (validation sees to it).
const char* certificateKind(const resources::CertificateBundle& b, const std::string& name) {
  const bool authority = std::any_of(b.authorities.begin(), b.authorities.end(),
                                     [&](const resources::Authority& a) { return a.name == name; });
  return authority ? "authorities" : "certificates";
}

}  // namespace

std::string storePath(const resources::CertificateBundle& b, const std::string& kind,
                      const std::string& name, const char* ext) {
  return b.name() + "/" + kind + "/" + name + ext;
}

std::string formatEncryptionKeys(const EncryptionKeys& k) {
  std::string out = "stage " + k.stage + "\n";
  for (const auto& [generation, key] : k.keys) {
    out += std::to_string(generation) + " " + key + "\n";
  }
  return out;
}

bool signsServiceAccountTokens(const resources::DesiredState& state,
                               const resources::CertificateBundle& bundle,
                               const std::string& name) {
  // The API server's verifying and signing keys, and the controller-manager's signing key.
  static const std::set<std::string, std::less<>> kTokenKeyFlags = {
      "service-account-key-file", "service-account-signing-key-file",
      "service-account-private-key-file"};
  std::set<std::string, std::less<>> paths;
  for (const resources::BundleFile& f : bundle.files) {
    if (f.source == name && (f.kind == resources::ContentKind::kCertificate ||
                             f.kind == resources::ContentKind::kKey)) {
      paths.insert(f.path);
    }
  }
  resources::Substituter sub(state);
  for (const resources::ControlPlaneService& s : state.services) {
    for (const resources::Flag& flag : s.flags) {
      if (kTokenKeyFlags.count(flag.name) == 0) continue;
      if (paths.count(flag.value.value) != 0) return true;
      if (flag.value.value.find("${") == std::string::npos) continue;
      for (const resources::Host& h : state.hosts) {  // a path written with ${...}
        resources::Diagnostics ignored;
        if (!state.selects(s.hosts, h)) continue;
        if (paths.count(sub.resolve(flag.value, &h, ignored).value_or("")) != 0) return true;
      }
    }
  }
  return false;
}

Material materialOf(const resources::DesiredState& state,
                    const resources::CertificateBundle& bundle, const resources::BundleFile& file) {
  using resources::ContentKind;
  switch (file.kind) {
    case ContentKind::kEncryptionConfig:
      return Material::kPrecious;
    case ContentKind::kKubeconfig:
      return Material::kDerivable;
    case ContentKind::kCertificate:
    case ContentKind::kKey:
    case ContentKind::kPublicKey:
      break;
  }
  const auto named = [&](const auto& v) {
    return std::any_of(v.begin(), v.end(), [&](const auto& x) { return x.name == file.source; });
  };
  // A token-signing certificate's key is kept when the certificate is reissued (see
  // prepareMaterial): the key is the precious half, the certificate is derived from it.
  const bool tokenKey =
      file.kind == ContentKind::kKey && signsServiceAccountTokens(state, bundle, file.source);
  return named(bundle.authorities) || named(bundle.keyPairs) || tokenKey ? Material::kPrecious
                                                                         : Material::kDerivable;
}

Status recordDistributed(const resources::CertificateBundle& bundle, const BundleMaterial& m,
                         runtime::SecretStore& store) {
  for (const auto& [name, keys] : m.encryptionKeys) {
    const std::string path = bundle.name() + "/encryption/" + name + ".deployed";
    if (store.read(path) == keys.stage) continue;
    if (Status s = store.write(path, keys.stage); !s.ok()) return s;
  }
  return okStatus();
}

std::optional<std::string> storedCertificatePem(const resources::CertificateBundle& bundle,
                                                const runtime::SecretStore& store,
                                                const std::string& name) {
  return store.read(storePath(bundle, certificateKind(bundle, name), name, ".crt"));
}

std::optional<runtime::PrivateKeyPem> storedPrivateKey(const resources::CertificateBundle& bundle,
                                                       const runtime::SecretStore& store,
                                                       const std::string& name) {
  auto pem = store.read(storePath(bundle, certificateKind(bundle, name), name, ".key"));
  if (!pem) return std::nullopt;
  return runtime::PrivateKeyPem{std::move(*pem)};
}

}  // namespace kthw::reconcilers