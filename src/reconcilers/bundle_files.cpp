#include "reconcilers/bundle_files.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>

#include "reconcilers/file_sync.h"
#include "reconcilers/yaml_emitter.h"
#include "resources/substitution.h"
#include "runtime/digest.h"

namespace kthw::reconcilers {
namespace {

using rapidjson::Document;
using rapidjson::Value;

std::string day(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&tt));
  return buf;
}

// What is derived from key material by parsing it (summaries, public keys) depends on the PEM
// alone. Parsing a key through OpenSSL 3's decoders costs about a millisecond, and every pass
// renders every bundle file for every host, so derivations are kept for the process's life
// (keyed by the material's digest; the values are not secret).
std::string memoized(const std::string& what, const std::string& pem,
                     const std::function<std::string()>& derive) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  const std::string key = what + ":" + runtime::sha256Hex(pem);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  std::string value = derive();
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() > 4096) cache.clear();
  return cache.emplace(key, std::move(value)).first->second;
}

std::string certificateSummary(const std::string& name, const std::string& pem) {
  return memoized("certificate " + name, pem, [&] {
    auto info = runtime::inspectCertificate(pem);
    if (!info.ok()) return "certificate " + name + " (unreadable)";
    std::string out = "certificate " + name + ": CN=" + info->commonName;
    for (const std::string& o : info->organizations) out += ", O=" + o;
    std::string sans;
    for (const std::string& d : info->dnsNames) sans += (sans.empty() ? "" : ",") + d;
    for (const std::string& i : info->ipAddresses) sans += (sans.empty() ? "" : ",") + i;
    if (!sans.empty()) out += ", SANs " + sans;
    out += ", not after " + day(info->notAfter) + ", sha256 " +
           info->sha256Fingerprint.substr(0, 23) + "...";
    return out;
  });
}

std::string keySummary(const std::string& name, const runtime::PrivateKeyPem& key) {
  return memoized("key " + name, key.pem, [&] {
    auto pub = runtime::publicKeyPem(key);
    auto type = runtime::privateKeyType(key);
    return "private key " + name + " (" +
           (type.ok() ? std::string(runtime::keyTypeName(*type)) : "?") + "), public key sha256 " +
           (pub.ok() ? runtime::sha256Hex(*pub).substr(0, 16) : "?") + "...";
  });
}

std::string describe(const BundleFileContent& f) {
  switch (f.kind) {
    case resources::ContentKind::kCertificate:
      return "the certificate of authority " + f.source;
    case resources::ContentKind::kKey:
      return "the private key " + f.source;
    case resources::ContentKind::kPublicKey:
      return "the public key " + f.source;
    case resources::ContentKind::kEncryptionConfig:
      return "the encryption config " + f.source;
    case resources::ContentKind::kKubeconfig:
      break;
  }
  return "the kubeconfig " + f.source;
}

// Why `f`, found on the host as `st`, must not be replaced, or nothing when it may be written:
// derivable, absent, the content the store holds, or an encryption config whose keys the store
// all created.
std::optional<std::string> guardRefusal(const BundleFileContent& f, const runtime::FileState& st,
                                        const runtime::ProbeResult& observed) {
  if (f.material != Material::kPrecious || st.type == runtime::FileType::kAbsent) {
    return std::nullopt;
  }
  if (f.content && st.sha256 == runtime::sha256Hex(*f.content)) return std::nullopt;
  const std::string found = describe(f) + " at " + f.spec.path + " on this host (" +
                            (st.sha256.empty() ? std::string("not a regular file")
                                               : "sha256 " + st.sha256.substr(0, 12)) +
                            ")";
  const std::string fix =
      "; adopt it with kthw adopt -f PATH (it imports what the hosts run), or remove it by hand. "
      "This bundle's files on this host are left as they are";
  if (f.kind != resources::ContentKind::kEncryptionConfig) {
    return found + " is not in this secret store" + fix;
  }
  auto text = observed.contents.find(f.spec.path);
  if (text == observed.contents.end()) {
    return found + " could not be read to compare its keys with this secret store's" + fix;
  }
  auto keys = encryptionConfigKeys(text->second);
  const auto known = [&](const std::string& k) {
    return std::find(f.knownKeys.begin(), f.knownKeys.end(), k) != f.knownKeys.end();
  };
  if (keys && !keys->empty() && std::all_of(keys->begin(), keys->end(), known)) {
    return std::nullopt;
  }
  return found + " holds a key that is not in this secret store" + fix;
}

}  // namespace

std::optional<std::vector<std::string>> encryptionConfigKeys(const std::string& text) {
  std::vector<std::string> keys;
  const auto base64 = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/' || c == '=';
  };
  for (size_t at = text.find("secret"); at != std::string::npos; at = text.find("secret", at + 1)) {
    size_t i = at + 6;
    const auto skip = [&](std::string_view chars) {
      while (i < text.size() && chars.find(text[i]) != std::string_view::npos) ++i;
    };
    skip("\"'");
    skip(" \t");
    if (i >= text.size() || text[i] != ':') continue;  // "secrets", "secretbox", a name
    ++i;
    skip(" \t\"'");
    const size_t start = i;
    while (i < text.size() && base64(text[i])) ++i;
    if (i == start) return std::nullopt;
    keys.push_back(text.substr(start, i - start));
  }
  return keys;
}

StatusOr<std::string> renderKubeconfig(const std::string& clusterName, const std::string& server,
                                       const std::string& user, const std::string& caPem,
                                       const std::string& certPem, const std::string& keyPem) {
  Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  auto str = [&](const std::string& s) { return Value(s.c_str(), a); };
  Value cluster(rapidjson::kObjectType);
  cluster.AddMember("certificate-authority-data", str(runtime::base64Encode(caPem)), a);
  cluster.AddMember("server", str(server), a);
  Value namedCluster(rapidjson::kObjectType);
  namedCluster.AddMember("cluster", cluster, a);
  namedCluster.AddMember("name", str(clusterName), a);
  Value context(rapidjson::kObjectType);
  context.AddMember("cluster", str(clusterName), a);
  context.AddMember("user", str(user), a);
  Value namedContext(rapidjson::kObjectType);
  namedContext.AddMember("context", context, a);
  namedContext.AddMember("name", "default", a);
  Value credentials(rapidjson::kObjectType);
  credentials.AddMember("client-certificate-data", str(runtime::base64Encode(certPem)), a);
  credentials.AddMember("client-key-data", str(runtime::base64Encode(keyPem)), a);
  Value namedUser(rapidjson::kObjectType);
  namedUser.AddMember("name", str(user), a);
  namedUser.AddMember("user", credentials, a);
  d.AddMember("apiVersion", "v1", a);
  d.AddMember("kind", "Config", a);
  d.AddMember("clusters", Value(rapidjson::kArrayType).PushBack(namedCluster, a), a);
  d.AddMember("contexts", Value(rapidjson::kArrayType).PushBack(namedContext, a), a);
  d.AddMember("current-context", "default", a);
  d.AddMember("preferences", Value(rapidjson::kObjectType), a);
  d.AddMember("users", Value(rapidjson::kArrayType).PushBack(namedUser, a), a);
  return emitYaml(d);
}

StatusOr<std::string> renderEncryptionConfig(const resources::EncryptionConfigSpec& spec,
                                             const EncryptionKeys& keys) {
  const bool legacy = spec.format == resources::EncryptionFormat::kLegacyEncryptionConfig;
  Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  Value resources(rapidjson::kArrayType);
  for (const std::string& r : spec.resources) resources.PushBack(Value(r.c_str(), a), a);
  Value keyList(rapidjson::kArrayType);
  for (const auto& [generation, key] : keys.keys) {
    Value k(rapidjson::kObjectType);
    k.AddMember("name", Value(("key" + std::to_string(generation)).c_str(), a), a);
    k.AddMember("secret", Value(key.c_str(), a), a);
    keyList.PushBack(k, a);
  }
  Value providerSettings(rapidjson::kObjectType);
  providerSettings.AddMember("keys", keyList, a);
  Value provider(rapidjson::kObjectType);
  provider.AddMember(Value(spec.provider.c_str(), a), providerSettings, a);
  Value identity(rapidjson::kObjectType);
  identity.AddMember("identity", Value(rapidjson::kObjectType), a);
  Value providers(rapidjson::kArrayType);
  providers.PushBack(provider, a).PushBack(identity, a);
  Value rule(rapidjson::kObjectType);
  rule.AddMember("resources", resources, a);
  rule.AddMember("providers", providers, a);
  d.AddMember("kind", Value(legacy ? "EncryptionConfig" : "EncryptionConfiguration", a), a);
  d.AddMember("apiVersion", Value(legacy ? "v1" : "apiserver.config.k8s.io/v1", a), a);
  d.AddMember("resources", Value(rapidjson::kArrayType).PushBack(rule, a), a);
  return emitYaml(d);
}

std::vector<BundleFileContent> bundleFilesFor(const resources::DesiredState& state,
                                              const resources::CertificateBundle& b,
                                              const BundleMaterial& m,
                                              const resources::Host& host) {
  using resources::ContentKind;
  std::vector<BundleFileContent> out;
  resources::Substituter sub(state);
  for (const resources::BundleFile& f : b.files) {
    if (!state.selects(f.hosts, host)) continue;
    BundleFileContent file;
    file.spec =
        runtime::FileSpec{f.path, f.attributes.owner, f.attributes.group, f.attributes.mode};
    file.secret = resources::isSecretContent(f.kind);
    file.kind = f.kind;
    file.source = f.source;
    file.material = materialOf(state, b, f);
    auto pendingFor = [&](const std::string& name) {
      if (m.has(name)) return false;
      file.pendingReason = name + " will be issued (" + m.reasons.at(name) + ")";
      file.summary = std::string(resources::contentKindName(f.kind)) + " " + f.source;
      return true;
    };
    switch (f.kind) {
      case ContentKind::kCertificate:
        if (pendingFor(f.source)) break;
        file.content = m.certificates.at(f.source);
        file.summary = certificateSummary(f.source, *file.content);
        break;
      case ContentKind::kKey:
        if (pendingFor(f.source)) break;
        file.content = m.keys.at(f.source).pem;
        file.summary = keySummary(f.source, m.keys.at(f.source));
        break;
      case ContentKind::kPublicKey: {
        if (pendingFor(f.source)) break;
        file.content = memoized("public", m.keys.at(f.source).pem, [&] {
          auto pub = runtime::publicKeyPem(m.keys.at(f.source));
          return pub.ok() ? *pub : std::string();
        });
        file.summary = "public key " + f.source + ", sha256 " +
                       runtime::sha256Hex(*file.content).substr(0, 16) + "...";
        break;
      }
      case ContentKind::kKubeconfig: {
        const auto& k = *std::find_if(b.kubeconfigs.begin(), b.kubeconfigs.end(),
                                      [&](const auto& x) { return x.name == f.source; });
        const auto& cert = *std::find_if(b.certificates.begin(), b.certificates.end(),
                                         [&](const auto& x) { return x.name == k.certificate; });
        if (pendingFor(k.certificate) || pendingFor(cert.issuer)) break;
        resources::Diagnostics ignored;
        const std::string server = sub.resolve(k.server, nullptr, ignored).value_or("");
        const std::string user = k.user.empty() ? cert.subject.commonName : k.user;
        auto kubeconfig =
            renderKubeconfig(b.clusterName, server, user, m.certificates.at(cert.issuer),
                             m.certificates.at(cert.name), m.keys.at(cert.name).pem);
        if (!kubeconfig.ok()) {
          file.pendingReason = "cannot render: " + kubeconfig.status().message();
          break;
        }
        file.content = *kubeconfig;
        file.summary = "kubeconfig " + f.source + ": server " + server + ", user " + user + ", " +
                       certificateSummary(cert.name, m.certificates.at(cert.name));
        break;
      }
      case ContentKind::kEncryptionConfig: {
        if (auto known = m.encryptionKeys.find(f.source); known != m.encryptionKeys.end()) {
          for (const auto& [generation, key] : known->second.keys) file.knownKeys.push_back(key);
          file.knownKeys.insert(file.knownKeys.end(), known->second.retired.begin(),
                                known->second.retired.end());
        }
        if (pendingFor(f.source)) break;
        const auto& e = *std::find_if(b.encryptionConfigs.begin(), b.encryptionConfigs.end(),
                                      [&](const auto& x) { return x.name == f.source; });
        const EncryptionKeys& keys = m.encryptionKeys.at(f.source);
        auto config = renderEncryptionConfig(e, keys);
        if (!config.ok()) {
          file.pendingReason = "cannot render: " + config.status().message();
          break;
        }
        file.content = *config;
        file.summary = "encryption config " + f.source + " (" + e.provider + ", keys";
        for (const auto& [generation, key] : keys.keys) {
          file.summary += " key" + std::to_string(generation) + " sha256 " +
                          runtime::sha256Hex(key).substr(0, 12) + "...";
        }
        file.summary += ", stage " + keys.stage + ")";
        break;
      }
    }
    out.push_back(std::move(file));
  }
  return out;
}

void CertificateBundleReconciler::observe(const resources::Host& host,
                                          runtime::ProbeRequest& request) const {
  for (const resources::CertificateBundle& b : state_.bundles) {
    auto material = material_.find(b.name());
    for (const resources::BundleFile& f : b.files) {
      if (!state_.selects(f.hosts, host)) continue;
      request.addPath(f.path);
      if (f.kind != resources::ContentKind::kEncryptionConfig) continue;
      // The guard reads an encryption config's keys, but only one that is not as desired.
      std::string want;
      const auto& e = *std::find_if(b.encryptionConfigs.begin(), b.encryptionConfigs.end(),
                                    [&](const auto& x) { return x.name == f.source; });
      if (material != material_.end() && material->second.has(f.source)) {
        auto config = renderEncryptionConfig(e, material->second.encryptionKeys.at(f.source));
        if (config.ok()) want = runtime::sha256Hex(*config);
      }
      request.contentsUnlessSha256.emplace_back(f.path, want);
    }
  }
}

void CertificateBundleReconciler::diff(const resources::Host& host,
                                       const runtime::ProbeResult& observed, HostPlan& plan) const {
  for (const resources::CertificateBundle& b : state_.bundles) {
    auto material = material_.find(b.name());
    if (material == material_.end()) continue;
    const std::string resource = "CertificateBundle/" + b.name();
    for (const std::string& p : material->second.problems) plan.problems.push_back(p);
    auto files = bundleFilesFor(state_, b, material->second, host);
    if (!files.empty()) plan.addResource(resource);
    bool refused = false;
    for (const BundleFileContent& f : files) {
      if (auto why = guardRefusal(f, observed.file(f.spec.path), observed)) {
        plan.problems.push_back(resource + ": " + host.name() + ": " + *why);
        refused = true;
      }
    }
    if (refused) {
      plan.guarded.push_back(resource);
      for (const BundleFileContent& f : files) plan.guardedFiles.emplace(f.spec.path, resource);
      continue;
    }
    for (BundleFileContent& f : files) {
      const runtime::FileState& st = observed.file(f.spec.path);
      const bool absent = st.type == runtime::FileType::kAbsent;
      // Secret content: the reason names the installed sha256, never a content diff.
      const std::string reason =
          !f.content
              ? f.pendingReason
              : fileDrift(st, f.spec, runtime::sha256Hex(*f.content),
                          "content differs (installed sha256 " + st.sha256.substr(0, 16) + "...)");
      if (reason.empty()) continue;
      Action a =
          makeAction(ActionType::kWriteFile, resource, f.spec.path, "write " + f.spec.path, reason);
      a.file = f.spec;
      a.content = f.content.value_or("");
      a.ifCurrentSha256 = absent ? "" : st.sha256;
      a.diff = f.summary + "\n";
      plan.actions.push_back(std::move(a));
    }
  }
}

}  // namespace kthw::reconcilers
