#include "reconcilers/adoption.h"

#include <algorithm>

#include "reconcilers/adoption_planner.h"
#include "runtime/digest.h"
#include "runtime/pki.h"

namespace kthw::reconcilers {
namespace adoption {

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

std::vector<Copy> Planner::copies(ContentKind kind, const std::string& source) const {
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

void Planner::embeddedIn(const std::string& certificate, std::vector<Copy>& certs,
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

bool Planner::setAside(const std::string& what, const std::string& theirs, const std::string& ours,
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

std::optional<std::string> Planner::agreedPublicKey(const std::string& what,
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

}  // namespace adoption

namespace {

using adoption::Outcome;
using adoption::Planner;

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
