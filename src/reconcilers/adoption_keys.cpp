// Adopting key pairs and encryption configs.
#include <algorithm>
#include <cctype>

#include "reconcilers/adoption_planner.h"
#include "runtime/pki.h"

namespace kthw::reconcilers::adoption {

void Planner::keyPair(const std::string& name) {
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
            "); adoption needs the private key where the desired state places {key: " + name + "}");
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

void Planner::encryptionConfig(const resources::EncryptionConfigSpec& e) {
  const std::string what = "encryption config " + e.name;
  const std::string keysPath = storePath(b_, "encryption", e.name, ".keys");
  const std::vector<Copy> configs = copies(ContentKind::kEncryptionConfig, e.name);
  if (configs.empty()) {
    add(what, Material::kPrecious, stored(keysPath) ? Outcome::kAlreadyStored : Outcome::kNotFound,
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
      "from " + first.where + " (" + listed(first) + ", " + agreeing(configs.size()) + ")" + note);
}

}  // namespace kthw::reconcilers::adoption
