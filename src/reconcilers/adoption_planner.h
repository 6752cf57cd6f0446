#pragma once

// The planner behind planAdoption, shared by adoption.cpp (what was found, the store),
// adoption_certificates.cpp (authorities, certificates) and adoption_keys.cpp (key pairs,
// encryption configs); private to those files.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcilers/adoption.h"

namespace kthw::reconcilers::adoption {

using resources::ContentKind;
using Outcome = AdoptionItem::Outcome;

// One copy of a file as found: "controller-0:/var/lib/kubernetes/ca.pem" and its content.
struct Copy {
  std::string where;
  std::string content;
};

std::string shortSha(const std::string& content);
// The last word of every line: the keys of a keys file ("GENERATION BASE64") or a retired file.
std::set<std::string> lastWords(const std::string& text);
// A public key as output names it: by the sha256 of its PEM, never by its bytes.
std::string publicKeyName(const std::string& pub);
std::string agreeing(size_t copies);
std::string trimmed(const std::string& s);

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
  std::vector<Copy> copies(ContentKind kind, const std::string& source) const;

  // The client certificates and keys that kubeconfigs of `certificate` embed, found on hosts.
  void embeddedIn(const std::string& certificate, std::vector<Copy>& certs,
                  std::vector<Copy>& keys) const;

  std::optional<std::string> stored(const std::string& path) const {
    return store_ != nullptr ? store_->read(path) : std::nullopt;
  }

  void add(std::string what, Material m, Outcome o, std::string detail) {
    out_.items.push_back({std::move(what), m, o, std::move(detail)});
  }

  // The store holds other precious material under the same name, which no host runs (the
  // hosts agree on theirs). With --supersede it is set aside; otherwise this is a refusal.
  bool setAside(const std::string& what, const std::string& theirs, const std::string& ours,
                const std::vector<std::string>& paths, std::string& note);

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
                                             const std::vector<Copy>& keys);

  void authority(const std::string& name);

  // A certificate that signs service-account tokens is a key pair in all but name: its key is
  // precious (a new one invalidates every token), the certificate is derived from it.
  void tokenCertificate(const resources::Certificate& c, const std::string& what);
  void certificate(const resources::Certificate& c);
  void keyPair(const std::string& name);
  void encryptionConfig(const resources::EncryptionConfigSpec& e);

  const resources::DesiredState& state_;
  const resources::CertificateBundle& b_;
  const HostFileContents& found_;
  const runtime::SecretStore* store_;
  bool supersede_;
  std::map<std::string, std::string> issuers_;  // authority -> certificate PEM, adopted or stored
  Adoption out_;
};

}  // namespace kthw::reconcilers::adoption
