// The YAML half of render_invariants.h: documents read back with kthw's own loader.
#include <initializer_list>
#include <optional>
#include <set>

#include "render_invariants.h"
#include "resources/yaml_loader.h"
#include "runtime/base64.h"

namespace kthw::fuzz {
namespace {

using resources::Node;

// A value, or the first violation met on the way to it.
struct Checked {
  const Node* node = nullptr;
  std::string violation;
};

std::string keysViolation(const Node& n, std::initializer_list<const char*> expected,
                          const std::string& where) {
  if (!n.isMapping()) return where + " is not a mapping";
  std::set<std::string> want(expected.begin(), expected.end());
  std::set<std::string> have;
  for (const resources::MapEntry& e : n.entries) {
    if (!want.count(e.key)) return where + " has key '" + e.key + "'";
    have.insert(e.key);
  }
  if (have != want || n.entries.size() != want.size()) return where + " lacks a key";
  return "";
}

// The only item of a one-item sequence `key` of `n`.
Checked onlyItem(const Node& n, const char* key, const std::string& where) {
  const Node* list = n.find(key);
  if (list == nullptr || !list->isSequence() || list->items.size() != 1) {
    return {nullptr, where + "." + key + " is not a sequence of one item"};
  }
  return {&list->items[0], ""};
}

std::string stringViolation(const Node* n, const std::string& expected, const std::string& where) {
  if (n == nullptr || !n->isScalar() || n->scalarKind() != resources::ScalarKind::kString) {
    return where + " is not a string";
  }
  if (n->scalar != expected) return where + " reads back as '" + n->scalar + "'";
  return "";
}

// Applies each check in turn; the first violation wins.
std::string firstOf(std::initializer_list<std::string> violations) {
  for (const std::string& v : violations) {
    if (!v.empty()) return v;
  }
  return "";
}

struct Parsed {
  std::optional<Node> root;
  std::string violation;
};

Parsed onlyDocument(const std::string& yaml, const std::string& name) {
  resources::LoadResult parsed = resources::parseYaml(yaml, name);
  if (!parsed.errors.empty())
    return {std::nullopt, "does not parse: " + parsed.errors[0].toString()};
  if (parsed.documents.size() != 1) return {std::nullopt, "is not one document"};
  return {std::move(parsed.documents[0].root), ""};
}

std::string clusterViolation(const Node& root, const KubeconfigInputs& in) {
  Checked c = onlyItem(root, "clusters", "");
  if (c.node == nullptr) return c.violation;
  const Node* cluster = c.node->find("cluster");
  if (std::string v = keysViolation(*c.node, {"cluster", "name"}, "clusters[0]"); !v.empty()) {
    return v;
  }
  return firstOf(
      {stringViolation(c.node->find("name"), in.cluster, "clusters[0].name"),
       keysViolation(*cluster, {"certificate-authority-data", "server"}, "clusters[0].cluster"),
       stringViolation(cluster->find("server"), in.server, "server"),
       stringViolation(cluster->find("certificate-authority-data"), runtime::base64Encode(in.caPem),
                       "certificate-authority-data")});
}

std::string contextViolation(const Node& root, const KubeconfigInputs& in) {
  Checked c = onlyItem(root, "contexts", "");
  if (c.node == nullptr) return c.violation;
  if (std::string v = keysViolation(*c.node, {"context", "name"}, "contexts[0]"); !v.empty()) {
    return v;
  }
  const Node* context = c.node->find("context");
  return firstOf({stringViolation(c.node->find("name"), "default", "contexts[0].name"),
                  keysViolation(*context, {"cluster", "user"}, "contexts[0].context"),
                  stringViolation(context->find("cluster"), in.cluster, "context cluster"),
                  stringViolation(context->find("user"), in.user, "context user")});
}

std::string userViolation(const Node& root, const KubeconfigInputs& in) {
  Checked c = onlyItem(root, "users", "");
  if (c.node == nullptr) return c.violation;
  if (std::string v = keysViolation(*c.node, {"name", "user"}, "users[0]"); !v.empty()) return v;
  const Node* user = c.node->find("user");
  return firstOf(
      {stringViolation(c.node->find("name"), in.user, "users[0].name"),
       keysViolation(*user, {"client-certificate-data", "client-key-data"}, "users[0].user"),
       stringViolation(user->find("client-certificate-data"), runtime::base64Encode(in.certPem),
                       "client-certificate-data"),
       stringViolation(user->find("client-key-data"), runtime::base64Encode(in.keyPem),
                       "client-key-data")});
}

std::string providersViolation(const Node& rule, const resources::EncryptionConfigSpec& spec,
                               const reconcilers::EncryptionKeys& keys) {
  const Node* providers = rule.find("providers");
  if (providers == nullptr || !providers->isSequence() || providers->items.size() != 2) {
    return "providers is not a sequence of two";
  }
  const Node& first = providers->items[0];
  if (!first.isMapping() || first.entries.size() != 1 || first.entries[0].key != spec.provider) {
    return "the first provider is not only " + spec.provider;
  }
  const Node& settings = first.entries[0].value;
  if (std::string v = keysViolation(settings, {"keys"}, spec.provider); !v.empty()) return v;
  const Node* list = settings.find("keys");
  if (!list->isSequence() || list->items.size() != keys.keys.size()) return "keys differ";
  for (size_t i = 0; i < keys.keys.size(); ++i) {
    const Node& k = list->items[i];
    const std::string where = "keys[" + std::to_string(i) + "]";
    std::string v =
        firstOf({keysViolation(k, {"name", "secret"}, where),
                 stringViolation(k.find("name"), "key" + std::to_string(keys.keys[i].first), where),
                 stringViolation(k.find("secret"), keys.keys[i].second, where + ".secret")});
    if (!v.empty()) return v;
  }
  const Node& identity = providers->items[1];
  if (std::string v = keysViolation(identity, {"identity"}, "providers[1]"); !v.empty()) return v;
  return keysViolation(*identity.find("identity"), {}, "identity");
}

}  // namespace

std::string kubeconfigViolation(const std::string& yaml, const KubeconfigInputs& in) {
  Parsed doc = onlyDocument(yaml, "kubeconfig");
  if (!doc.root) return "kubeconfig " + doc.violation;
  const Node& root = *doc.root;
  const auto topLevel = {"apiVersion",      "kind",        "clusters", "contexts",
                         "current-context", "preferences", "users"};
  if (std::string v = keysViolation(root, topLevel, "kubeconfig"); !v.empty()) return v;
  return firstOf({stringViolation(root.find("apiVersion"), "v1", "apiVersion"),
                  stringViolation(root.find("kind"), "Config", "kind"),
                  stringViolation(root.find("current-context"), "default", "current-context"),
                  keysViolation(*root.find("preferences"), {}, "preferences"),
                  clusterViolation(root, in), contextViolation(root, in), userViolation(root, in)});
}

std::string encryptionConfigViolation(const std::string& yaml,
                                      const resources::EncryptionConfigSpec& spec,
                                      const reconcilers::EncryptionKeys& keys) {
  Parsed doc = onlyDocument(yaml, "encryption-config");
  if (!doc.root) return "encryption config " + doc.violation;
  const Node& root = *doc.root;
  const bool legacy = spec.format == resources::EncryptionFormat::kLegacyEncryptionConfig;
  if (std::string v = keysViolation(root, {"kind", "apiVersion", "resources"}, "encryption config");
      !v.empty()) {
    return v;
  }
  std::string v =
      firstOf({stringViolation(root.find("kind"),
                               legacy ? "EncryptionConfig" : "EncryptionConfiguration", "kind"),
               stringViolation(root.find("apiVersion"),
                               legacy ? "v1" : "apiserver.config.k8s.io/v1", "apiVersion")});
  if (!v.empty()) return v;
  Checked rule = onlyItem(root, "resources", "encryption config");
  if (rule.node == nullptr) return rule.violation;
  if (v = keysViolation(*rule.node, {"resources", "providers"}, "rule"); !v.empty()) return v;
  const Node* resources = rule.node->find("resources");
  if (!resources->isSequence() || resources->items.size() != spec.resources.size()) {
    return "the rule's resources differ in number";
  }
  for (size_t i = 0; i < spec.resources.size(); ++i) {
    v = stringViolation(&resources->items[i], spec.resources[i],
                        "resources[" + std::to_string(i) + "]");
    if (!v.empty()) return v;
  }
  return providersViolation(*rule.node, spec, keys);
}

}  // namespace kthw::fuzz
