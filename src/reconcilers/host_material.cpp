// What adoption reads inside files found on hosts: encryption configs and kubeconfigs.
#include <algorithm>
#include <cctype>

#include "reconcilers/adoption.h"
#include "resources/yaml_loader.h"
#include "runtime/base64.h"

namespace kthw::reconcilers {

// Text read from a host, safe to print: bytes outside printable ASCII become '?', and it is cut
// at 64 characters.
std::string printableText(const std::string& s) {
  std::string out = s.substr(0, 64);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> encryptionConfigProviderKeys(
    const std::string& text, const std::string& provider) {
  resources::LoadLimits limits;
  limits.maxNodes = 10000;
  resources::LoadResult parsed = resources::parseYaml(text, "encryption config", limits);
  if (!parsed.errors.empty() || parsed.documents.size() != 1) {
    return invalidArgument("not a YAML document kthw can read as an encryption config");
  }
  const resources::Node& root = parsed.documents.front().root;
  const std::string kind = root.isMapping() ? root.str("kind") : "";
  if (kind != "EncryptionConfiguration" && kind != "EncryptionConfig") {
    return invalidArgument("kind is \"" + printableText(kind) +
                           "\", not EncryptionConfiguration or EncryptionConfig");
  }
  const resources::Node* list = root.find("resources");
  if (list == nullptr || !list->isSequence() || list->items.empty() ||
      !list->items.front().isMapping()) {
    return invalidArgument("no resources list");
  }
  const resources::Node* providers = list->items.front().find("providers");
  if (providers == nullptr || !providers->isSequence()) {
    return invalidArgument("the first resources entry has no providers list");
  }
  std::string seen;
  for (const resources::Node& p : providers->items) {
    if (!p.isMapping() || p.entries.size() != 1) continue;
    const resources::MapEntry& entry = p.entries.front();
    seen += (seen.empty() ? "" : ", ") + printableText(entry.key);
    if (entry.key != provider) continue;
    const resources::Node* keys = entry.value.find("keys");
    if (keys == nullptr || !keys->isSequence() || keys->items.empty()) {
      return invalidArgument("provider " + provider + " lists no keys");
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (const resources::Node& k : keys->items) {
      const resources::Node* name = k.isMapping() ? k.find("name") : nullptr;
      const resources::Node* secret = k.isMapping() ? k.find("secret") : nullptr;
      if (name == nullptr || secret == nullptr || !name->isScalar() || !secret->isScalar() ||
          name->scalar.empty() || secret->scalar.empty()) {
        return invalidArgument("a key of provider " + provider + " lacks a name or a secret");
      }
      const bool base64 = std::all_of(secret->scalar.begin(), secret->scalar.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '+' || ch == '/' ||
               ch == '=';
      });
      if (!base64) {
        return invalidArgument("the secret of key " + printableText(name->scalar) +
                               " is not base64");
      }
      out.emplace_back(name->scalar, secret->scalar);
    }
    return out;
  }
  return invalidArgument("its providers are " + (seen.empty() ? std::string("none") : seen) +
                         "; the spec says " + provider +
                         ", and adopting another provider's keys would make every Secret "
                         "unreadable");
}

std::optional<std::pair<std::string, std::string>> kubeconfigCredentials(const std::string& text) {
  resources::LoadLimits limits;
  limits.maxNodes = 10000;
  resources::LoadResult parsed = resources::parseYaml(text, "kubeconfig", limits);
  if (!parsed.errors.empty() || parsed.documents.size() != 1) return std::nullopt;
  const resources::Node* users = parsed.documents.front().root.find("users");
  if (users == nullptr || !users->isSequence() || users->items.size() != 1) return std::nullopt;
  const resources::Node* user = users->items.front().find("user");
  if (user == nullptr || !user->isMapping()) return std::nullopt;
  const resources::Node* cert = user->find("client-certificate-data");
  const resources::Node* key = user->find("client-key-data");
  if (cert == nullptr || key == nullptr || !cert->isScalar() || !key->isScalar()) {
    return std::nullopt;
  }
  std::string certPem = runtime::base64Decode(cert->scalar);
  std::string keyPem = runtime::base64Decode(key->scalar);
  if (certPem.empty() || keyPem.empty()) return std::nullopt;
  return std::make_pair(std::move(certPem), std::move(keyPem));
}

}  // namespace kthw::reconcilers
