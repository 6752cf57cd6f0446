#include "reconcilers/adoption.h"

#include <algorithm>
#include <set>

#include "runtime/digest.h"
#include "runtime/pki.h"

namespace kthw::reconcilers {
namespace {

using resources::ContentKind;
using Outcome = AdoptionItem::Outcome;

// One copy of a file as found: "controller-0:/var/lib/kubernetes/ca.pem" and its content.
struct Copy {
  std::string where;
  std::string content;
};

std::string shortSha(const std::string& content) {
  return runtime::sha256Hex(content).substr(0, 12);
}

// The last word of every line: the keys of a keys file ("GENERATION BASE64") or a retired file.
std::set<std::string> lastWords(const std::string& text) {
  std::set<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t eol = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, eol - at);
    const size_t space = line.rfind(' ');
    out.insert(space == std::string::npos ? line : line.substr(space + 1));
    at = eol + 1;
  }
  return out;
}

// A public key as output names it: by the sha256 of its PEM, never by its bytes.
std::string publicKeyName(const std::string& pub) {
  return "public key sha256 " + runtime::sha256Hex(pub).substr(0, 16) + "...";
}

std::string agreeing(size_t copies) {
  return copies == 1 ? "1 copy" : std::to_string(copies) + " copies agree";
}

std::string trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

class Planner {
 public:
  Planner(const resources::DesiredState& state, const resources::CertificateBundle& b,
          const HostFileContents& found, const runtime::SecretStore* store, bool supersede)
      : state_(state), b_(b), found_(found), store_(store), supersede_(supersede) {}

  Adoption run() {
    for (const auto& a : b_.authorities) authority(a.name);
    for (const auto& c : b_.certificates) certificate(c);
    for (const auto& k : b_.keyPairs) keyPair(k.name);
    for (const auto& e : b_.encryptionConfigs) encryptionConfig(e);
    return std::move(out_);
  }

 private:
  // Every copy of what the bundle places as `kind` from `source`, in host and path order.
  std::vector<Copy> copies(ContentKind kind, const std::string& source) const {
    std::vector<Copy> out;
    for (const resources::Host& h : state_.hosts) {
      auto files = found_.find(h.name());
      if (files == found_.end()) continue;
      for (const resources::BundleFile& f : b_.files) {
        if (f.kind != kind || f.source != source || !state_.selects(f.hosts, h)) continue;
        if (auto it = files->second.find(f.path); it != files->second.end()) {
          out.push_back({h.name() + ":" + f.path, it->second});
        }
      }
    }
    return out;
  }

  // The client certificates and keys that kubeconfigs of `certificate` embed, found on hosts.
  void embeddedIn(const std::string& certificate, std::vector<Copy>& certs,
                  std::vector<Copy>& keys) const {
    for (const resources::Kubeconfig& k : b_.kubeconfigs) {
      if (k.certificate != certificate) continue;
      for (const Copy& c : copies(ContentKind::kKubeconfig, k.name)) {
        if (auto credentials = kubeconfigCredentials(c.content)) {
          certs.push_back({c.where, credentials->first});
          keys.push_back({c.where, credentials->second});
        }
      }
    }
  }

  std::optional<std::string> stored(const std::string& path) const {
    return store_ != nullptr ? store_->read(path) : std::nullopt;
  }

  void add(std::string what, Material m, Outcome o, std::string detail) {
    out_.items.push_back({std::move(what), m, o, std::move(detail)});
  }

  // The store holds other precious material under the same name, which no host runs (the
  // hosts agree on theirs). With --supersede it is set aside; otherwise this is a refusal.
  bool setAside(const std::string& what, const std::string& theirs, const std::string& ours,
                const std::vector<std::string>& paths, std::string& note) {
    if (!supersede_) {
      add(what, Material::kPrecious, Outcome::kRefused,
          "the hosts run " + theirs + ", but this secret store holds another one (" + ours +
              ") that no host runs; kthw adopt never replaces precious material in the store "
              "unless told: pass --supersede to set the store's aside (it stays in the store "
              "under " +
              kSupersededDir + "/) and adopt the hosts'");
      return false;
    }
    for (const std::string& p : paths) {
      if (stored(p)) out_.superseded.push_back(p);
    }
    note = "; the store's own (" + ours + "), which no host runs, is set aside under " +
           kSupersededDir + "/";
    return true;
  }

  // Groups copies by `key` (a fingerprint); more than one group is a disagreement, described.
  template <typename KeyOf>
  std::optional<std::string> disagreement(const std::vector<Copy>& cs, KeyOf keyOf) const {
    std::map<std::string, std::vector<std::string>> groups;
    for (const Copy& c : cs) groups[keyOf(c)].push_back(c.where);
    if (groups.size() < 2) return std::nullopt;
    std::string text = "differs across hosts:";
    for (const auto& [key, wheres] : groups) {
      text += " " + wheres.front() +
              (wheres.size() > 1 ? " (and " + std::to_string(wheres.size() - 1) + " more)" : "") +
              " has " + key + ";";
    }
    text.pop_back();
    return text + ". kthw adopts one, so make the hosts agree first";
  }

  // The public key (trimmed PEM) that every copy in `keys` has, or nothing with the refusal
  // recorded: a copy that is no private key, or copies of different keys.
  std::optional<std::string> agreedPublicKey(const std::string& what,
                                             const std::vector<Copy>& keys) {
    std::map<std::string, std::string> publicOf;  // where -> public key PEM
    for (const Copy& k : keys) {
      auto pub = runtime::publicKeyPem(runtime::PrivateKeyPem{k.content});
      if (!pub.ok()) {
        add(what, Material::kPrecious, Outcome::kRefused, k.where + " is not a private key");
        return std::nullopt;
      }
      publicOf[k.where] = trimmed(*pub);
    }
    const auto name = [&](const Copy& k) { return publicKeyName(publicOf.at(k.where)); };
    if (auto d = disagreement(keys, name)) {
      add(what, Material::kPrecious, Outcome::kRefused, *d);
      return std::nullopt;
    }
    return publicOf.at(keys.front().where);
  }

  void authority(const std::string& name) {
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
        add(what, Material::kPrecious, Outcome::kAlreadyStored,
            "the same CA (" + fingerprint + ")");
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

  // A certificate that signs service-account tokens is a key pair in all but name: its key is
  // precious (a new one invalidates every token), the certificate is derived from it.
  void tokenCertificate(const resources::Certificate& c, const std::string& what) {
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
            publicKeyName(pub) + ", " + agreeing(keys.size()) +
            "; it signs service-account tokens)" + note);
  }

  void certificate(const resources::Certificate& c) {
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

  void keyPair(const std::string& name) {
    const std::string what = "key pair " + name;
    const std::string keyPath = storePath(b_, "keypairs", name, ".key");
    const std::vector<Copy> keys = copies(ContentKind::kKey, name);
    const std::vector<Copy> publics = copies(ContentKind::kPublicKey, name);
    if (keys.empty() && publics.empty()) {
      add(what, Material::kPrecious, stored(keyPath) ? Outcome::kAlreadyStored : Outcome::kNotFound,
          stored(keyPath) ? "in the store; on no host yet" : "on no host; kthw apply issues it");
      return;
    }
    if (keys.empty()) {
      // The store's own key pair, whose public half the hosts run, is fine.
      auto have = stored(keyPath);
      auto storedPub = have ? runtime::publicKeyPem(runtime::PrivateKeyPem{*have})
                            : StatusOr<std::string>(notFound("none"));
      if (storedPub.ok() && std::all_of(publics.begin(), publics.end(), [&](const Copy& p) {
            return trimmed(p.content) == trimmed(*storedPub);
          })) {
        add(what, Material::kPrecious, Outcome::kAlreadyStored, "the same key pair");
        return;
      }
      add(what, Material::kPrecious, Outcome::kRefused,
          "only its public half is on the hosts (" + publics.front().where +
              "); adoption needs the private key where the desired state places {key: " + name +
              "}");
      return;
    }
    const auto agreed = agreedPublicKey(what, keys);
    if (!agreed) return;
    const std::string& pub = *agreed;
    for (const Copy& p : publics) {
      if (trimmed(p.content) != pub) {
        add(what, Material::kPrecious, Outcome::kRefused,
            "the public key at " + p.where + " does not belong to the private key at " +
                keys.front().where);
        return;
      }
    }
    std::string note;
    if (auto have = stored(keyPath)) {
      auto storedPub = runtime::publicKeyPem(runtime::PrivateKeyPem{*have});
      if (storedPub.ok() && trimmed(*storedPub) == pub) {
        add(what, Material::kPrecious, Outcome::kAlreadyStored, "the same key pair");
        return;
      }
      const std::string ours =
          storedPub.ok() ? publicKeyName(trimmed(*storedPub)) : "public key sha256 unreadable";
      if (!setAside(what, publicKeyName(pub), ours, {keyPath}, note)) return;
    }
    out_.imports[keyPath] = keys.front().content;
    add(what, Material::kPrecious, Outcome::kImported,
        "from " + keys.front().where + " (" + publicKeyName(pub) + ", " +
            agreeing(keys.size() + publics.size()) + ")" + note);
  }

  void encryptionConfig(const resources::EncryptionConfigSpec& e) {
    const std::string what = "encryption config " + e.name;
    const std::string keysPath = storePath(b_, "encryption", e.name, ".keys");
    const std::vector<Copy> configs = copies(ContentKind::kEncryptionConfig, e.name);
    if (configs.empty()) {
      add(what, Material::kPrecious,
          stored(keysPath) ? Outcome::kAlreadyStored : Outcome::kNotFound,
          stored(keysPath) ? "in the store; on no host yet" : "on no host; kthw apply issues it");
      return;
    }
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> keysAt;
    for (const Copy& c : configs) {
      auto keys = encryptionConfigProviderKeys(c.content, e.provider);
      if (!keys.ok()) {
        add(what, Material::kPrecious, Outcome::kRefused, c.where + ": " + keys.status().message());
        return;
      }
      keysAt[c.where] = std::move(*keys);
    }
    const auto listed = [&](const Copy& c) {
      std::string names;
      for (const auto& [name, secret] : keysAt.at(c.where)) {
        names +=
            (names.empty() ? "" : ",") + printableText(name) + " (sha256 " + shortSha(secret) + ")";
      }
      return "keys " + names;
    };
    if (auto d = disagreement(configs, listed)) {
      add(what, Material::kPrecious, Outcome::kRefused, *d);
      return;
    }
    const Copy& first = configs.front();
    EncryptionKeys keys;
    for (const auto& [name, secret] : keysAt.at(first.where)) {
      int generation = 0;
      if (name.size() > 3 && name.size() < 9 && name.starts_with("key") &&
          std::all_of(name.begin() + 3, name.end(),
                      [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; })) {
        generation = std::stoi(name.substr(3));
      }
      // Only the name kthw would write back: key01 would come back as key1.
      if (generation < 1 || name != "key" + std::to_string(generation)) {
        add(what, Material::kPrecious, Outcome::kRefused,
            first.where + " names a key \"" + printableText(name) +
                "\"; kthw names keys key<generation> (key1, key2, ...), and renaming a key makes "
                "every Secret written with it unreadable");
        return;
      }
      keys.keys.emplace_back(generation, secret);
    }
    if (keys.keys.size() > 2) {
      add(what, Material::kPrecious, Outcome::kRefused,
          first.where + " lists " + std::to_string(keys.keys.size()) +
              " keys; kthw keeps at most two, during a rotation");
      return;
    }
    if (keys.keys.size() == 2) {
      keys.stage = keys.keys[0].first > keys.keys[1].first ? "promoted" : "added";
    }
    const std::string deployedPath = storePath(b_, "encryption", e.name, ".deployed");
    const std::string retiredPath = storePath(b_, "encryption", e.name, ".retired");
    std::string note;
    if (auto have = stored(keysPath)) {
      const std::set<std::string> ours = lastWords(*have + stored(retiredPath).value_or(""));
      const auto known = [&](const auto& k) { return ours.count(k.second) != 0; };
      if (std::all_of(keys.keys.begin(), keys.keys.end(), known)) {
        add(what, Material::kPrecious, Outcome::kAlreadyStored,
            "the store created every key it lists");
        return;
      }
      if (std::any_of(keys.keys.begin(), keys.keys.end(), known)) {
        add(what, Material::kPrecious, Outcome::kRefused,
            first.where +
                " mixes keys of this secret store with others; make it one or the "
                "other by hand");
        return;
      }
      if (!setAside(what, listed(first), "keys sha256 " + shortSha(*have),
                    {keysPath, deployedPath, retiredPath}, note)) {
        return;
      }
    }
    out_.imports[keysPath] = formatEncryptionKeys(keys);
    out_.imports[deployedPath] = keys.stage;
    add(what, Material::kPrecious, Outcome::kImported,
        "from " + first.where + " (" + listed(first) + ", " + agreeing(configs.size()) + ")" +
            note);
  }

  const resources::DesiredState& state_;
  const resources::CertificateBundle& b_;
  const HostFileContents& found_;
  const runtime::SecretStore* store_;
  bool supersede_;
  std::map<std::string, std::string> issuers_;  // authority -> certificate PEM, adopted or stored
  Adoption out_;
};

}  // namespace

bool Adoption::refused() const {
  return std::any_of(items.begin(), items.end(),
                     [](const AdoptionItem& i) { return i.outcome == Outcome::kRefused; });
}

std::vector<std::string> adoptablePathsOn(const resources::DesiredState& state,
                                          const resources::CertificateBundle& bundle,
                                          const resources::Host& host) {
  std::vector<std::string> paths;
  for (const resources::BundleFile& f : bundle.files) {
    if (state.selects(f.hosts, host)) {
      paths.push_back(f.path);
    }
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  return paths;
}

Adoption planAdoption(const resources::DesiredState& state,
                      const resources::CertificateBundle& bundle, const HostFileContents& found,
                      const runtime::SecretStore* store, bool supersede) {
  return Planner(state, bundle, found, store, supersede).run();
}

}  // namespace kthw::reconcilers
