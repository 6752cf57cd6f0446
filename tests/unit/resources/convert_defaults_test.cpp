// crds/ is the only place a default lives. These tests prove by behaviour that conversion into
// typed objects invents none: every default reaches the typed object from the CRD, and a field
// the tree leaves unset converts exactly as if it were written with its zero value.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "resources/convert.h"
#include "resources/embedded_schemas.h"
#include "resources/schema.h"
#include "resources/schema_registry.h"
#include "resources/yaml_loader.h"

namespace kthw::resources {
namespace {

// One document of each kind: its required fields, one item of every list whose items have
// defaults, and the optional objects (routeCheck, healthzProxy) whose fields have defaults.
// Fields without a schema default are left unset, except the few whose position conversion
// keeps even when unset (backends.service, health.url), since an unset field has no position.
const char* const kMinimalDocuments[] = {
    R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: worker-0}
spec:
  address: 10.0.1.20
  directories:
    - path: /var/lib/kubelet
)",
    R"(apiVersion: kthw.dev/v1alpha1
kind: CertificateBundle
metadata: {name: cluster}
spec:
  authorities:
    - {name: ca, commonName: Kubernetes}
  certificates:
    - {name: admin, issuer: ca, commonName: admin, usages: [client]}
  keyPairs:
    - {name: service-account}
  kubeconfigs:
    - {name: admin, certificate: admin, server: 'https://10.0.1.5:6443'}
  encryptionConfigs:
    - {name: encryption}
  files:
    - path: /var/lib/kubernetes/ca.pem
      hosts: {names: [worker-0]}
      content: {certificate: ca}
    - path: /var/lib/kubernetes/ca-key.pem
      hosts: {names: [worker-0]}
      content: {key: ca}
)",
    R"(apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-scheduler}
spec:
  component: kube-scheduler
  hosts: {names: [worker-0]}
  binary: {path: /usr/local/bin/kube-scheduler}
  configFiles:
    - {path: /etc/kubernetes/config/kube-scheduler.yaml, content: "kind: x\n"}
  health: {url: 'https://127.0.0.1:10259/healthz'}
)",
    R"(apiVersion: kthw.dev/v1alpha1
kind: LoadBalancer
metadata: {name: kubernetes}
spec:
  host: lb-0
  frontend: {address: 10.0.1.5}
  backends:
    hosts: {names: [worker-0]}
    service: kube-apiserver
  routeCheck: {certificateBundle: cluster, authority: ca}
  healthzProxy:
    hosts: {names: [worker-0]}
)",
};

using Typed = std::variant<Host, CertificateBundle, ControlPlaneService, LoadBalancer>;

// A registry of its own, so that a test may change its schemas.
SchemaRegistry freshRegistry() {
  std::vector<std::pair<std::string, std::string>> texts;
  for (const EmbeddedSchema& s : embeddedSchemas()) texts.emplace_back(s.fileName, s.text);
  auto registry = SchemaRegistry::fromCrdTexts(texts);
  EXPECT_TRUE(registry.ok()) << registry.status().message();
  return std::move(*registry);
}

Node parse(const char* yaml) {
  LoadResult r = parseYaml(yaml, "minimal.yaml");
  EXPECT_TRUE(r.errors.empty());
  return r.documents.at(0).root;
}

const KindSchema& kindOf(const SchemaRegistry& registry, const Node& doc) {
  const KindSchema* k = registry.find(doc.str("apiVersion"), doc.str("kind"));
  EXPECT_NE(k, nullptr) << doc.str("kind");
  return *k;
}

// The document as the loader hands it to conversion: validated and defaulted.
Node defaulted(const SchemaRegistry& registry, Node doc) {
  Diagnostics errors;
  validateAndDefault(*kindOf(registry, doc).schema, doc, "", errors);
  for (const Diagnostic& e : errors) ADD_FAILURE() << e.toString();
  return doc;
}

Typed convert(const Node& doc) {
  ObjectMeta meta = toObjectMeta(*doc.find("metadata"), doc.mark);
  const std::string kind = doc.str("kind");
  if (kind == "Host") return toHost(doc, std::move(meta));
  if (kind == "CertificateBundle") return toCertificateBundle(doc, std::move(meta));
  if (kind == "ControlPlaneService") return toControlPlaneService(doc, std::move(meta));
  return toLoadBalancer(doc, std::move(meta));
}

// Every schema below `s` (itself included), with its path, in declaration order.
void forEachSchema(Schema& s, const std::string& path,
                   const std::function<void(Schema&, const std::string&)>& visit) {
  visit(s, path);
  for (auto& [name, child] : s.properties) {
    forEachSchema(*child, path.empty() ? name : path + "." + name, visit);
  }
  if (s.items) forEachSchema(*s.items, path + "[]", visit);
  if (s.additionalProperties) forEachSchema(*s.additionalProperties, path + ".*", visit);
}

// A default that is a value rather than `{}` (which only makes an object present so that the
// defaults of its fields apply).
bool isValueDefault(const Schema& s) { return s.defaultValue && !s.defaultValue->isMapping(); }

std::string bumpLastDigit(std::string s) {
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (*it >= '0' && *it <= '9') {
      *it = *it == '9' ? '8' : static_cast<char>(*it + 1);
      return s;
    }
  }
  return s;
}

// Another value the schema accepts in place of the default `v`.
std::optional<Node> otherValue(const Schema& s, const Node& v) {
  if (v.isSequence()) {
    if (v.items.empty() || !s.items) return std::nullopt;
    Node other = v;
    auto item = otherValue(*s.items, v.items.front());
    if (!item) return std::nullopt;
    other.items.front() = *item;
    return other;
  }
  std::vector<std::string> candidates;
  if (v.scalarKind() == ScalarKind::kBool) candidates.push_back(v.boolean() ? "false" : "true");
  for (const std::string& e : s.enumValues) candidates.push_back(e);
  if (auto i = v.integer()) {
    candidates.push_back(std::to_string(*i + 1));
    candidates.push_back(std::to_string(*i - 1));
  }
  candidates.push_back(bumpLastDigit(v.scalar));
  candidates.push_back(v.scalar + "x");
  candidates.push_back("x" + v.scalar);
  for (const std::string& c : candidates) {
    if (c == v.scalar) continue;
    Node other = v;
    other.scalar = c;
    other.raw = c;
    Diagnostics errors;
    validateAndDefault(s, other, "", errors);
    if (errors.empty()) return other;
  }
  return std::nullopt;
}

// Each default of a CRD, changed alone to another valid value, changes the typed object: so
// conversion reads it from the tree (directly, or through a documented rule such as a
// certificate's keyAlgorithm coming from spec.defaults) instead of holding its own copy. It
// also fails when a minimal document does not reach a default, so a new default is covered.
TEST(ConvertDefaults, EveryCrdDefaultReachesTheTypedObject) {
  SchemaRegistry registry = freshRegistry();
  for (const char* yaml : kMinimalDocuments) {
    const Node minimal = parse(yaml);
    const KindSchema& kind = kindOf(registry, minimal);
    const Typed baseline = convert(defaulted(registry, minimal));
    int checked = 0;
    forEachSchema(*kind.schema, "", [&](Schema& s, const std::string& path) {
      if (!isValueDefault(s)) return;
      const Node original = *s.defaultValue;
      auto other = otherValue(s, original);
      ASSERT_TRUE(other) << kind.kind << " " << path << ": no other valid value to try";
      s.defaultValue = *other;
      EXPECT_TRUE(convert(defaulted(registry, minimal)) != baseline)
          << kind.kind << " " << path << ": changing the CRD's default to " << other->scalar
          << " did not change the converted object (conversion ignores it, or the minimal "
             "document does not reach it)";
      s.defaultValue = original;
      ++checked;
    });
    EXPECT_GT(checked, 0) << kind.kind;
  }
}

Node zeroValue(const Schema& s, const Mark& mark) {
  Node n;
  n.mark = mark;
  switch (s.type) {
    case Schema::Type::kArray:
      n.type = NodeType::kSequence;
      return n;
    case Schema::Type::kInteger:
      n.type = NodeType::kScalar;
      n.scalar = n.raw = "0";
      return n;
    case Schema::Type::kBoolean:
      n.type = NodeType::kScalar;
      n.scalar = n.raw = "false";
      return n;
    default:
      n.type = NodeType::kScalar;
      n.plain = false;  // a string, even where the schema also allows an integer
      return n;
  }
}

// Writes the zero value of every unset scalar or list into `n`, at its parent's position as a
// defaulted field has. Unset objects stay unset: the presence of one has a meaning (a routeCheck
// to make, a bastion to jump through), and an unset map has no position to record.
void writeZeroValues(const Schema& s, Node& n) {
  if (n.isSequence() && s.items) {
    for (Node& item : n.items) writeZeroValues(*s.items, item);
  }
  if (!n.isMapping()) return;
  for (const auto& [name, child] : s.properties) {
    if (Node* value = n.find(name)) {
      writeZeroValues(*child, *value);
    } else if (child->type != Schema::Type::kObject) {
      n.entries.push_back(MapEntry{name, n.mark, zeroValue(*child, n.mark)});
    }
  }
}

// With no value defaults in the CRDs, a field left unset converts exactly as the same field
// written with its zero value (0, "", false, an empty list): conversion has no constant of its
// own to fall back to. The rules the CRDs document (internalIP from address, a unit's name from
// its component, inheritance from spec.defaults, a file's mode from its content, a load
// balancer's configPath from its implementation) treat an empty value as unset, so they pass.
TEST(ConvertDefaults, AnUnsetFieldConvertsAsItsZeroValue) {
  SchemaRegistry registry = freshRegistry();
  for (const KindSchema& kind : registry.kinds()) {
    forEachSchema(*kind.schema, "", [](Schema& s, const std::string&) {
      if (isValueDefault(s)) s.defaultValue.reset();
    });
  }
  for (const char* yaml : kMinimalDocuments) {
    const Node unset = defaulted(registry, parse(yaml));
    Node zeros = unset;
    writeZeroValues(*kindOf(registry, unset).schema, zeros);
    ASSERT_NE(zeros.find("spec")->entries.size(), unset.find("spec")->entries.size());
    EXPECT_TRUE(convert(unset) == convert(zeros))
        << unset.str("kind") << ": an unset field converts to something other than its zero "
        << "value, which only a default invented by conversion explains";
  }
}

// An object the CRD defaults to {} (here ControlPlaneService's health) makes its fields' defaults
// apply when a document leaves the whole object out: a service without `health` gets the CRD's
// health timeout, and without that `default: {}` it would get none (0: one check, no wait).
TEST(ConvertDefaults, AnObjectLeftOutStillGetsItsFieldsDefaults) {
  const char* const kNoHealth = R"(apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata: {name: kube-scheduler}
spec:
  component: kube-scheduler
  hosts: {names: [worker-0]}
  binary: {path: /usr/local/bin/kube-scheduler}
)";
  auto field = [](Schema& s, const std::string& name) -> Schema& {
    for (auto& [n, child] : s.properties) {
      if (n == name) return *child;
    }
    ADD_FAILURE() << "no field " << name;
    return s;
  };
  SchemaRegistry registry = freshRegistry();
  const Node doc = parse(kNoHealth);
  Schema& health = field(field(*kindOf(registry, doc).schema, "spec"), "health");
  ASSERT_TRUE(health.defaultValue.has_value()) << "spec.health has no default in the CRD";
  const Schema& timeout = field(health, "timeoutSeconds");
  ASSERT_TRUE(timeout.defaultValue.has_value());
  const auto timeoutDefault = timeout.defaultValue->integer();
  ASSERT_TRUE(timeoutDefault.has_value());
  ASSERT_GT(*timeoutDefault, 0);
  auto converted = std::get<ControlPlaneService>(convert(defaulted(registry, doc)));
  EXPECT_EQ(converted.health.timeoutSeconds, *timeoutDefault);
  // The control: the same document with the object's `default: {}` taken away.
  health.defaultValue.reset();
  converted = std::get<ControlPlaneService>(convert(defaulted(registry, doc)));
  EXPECT_EQ(converted.health.timeoutSeconds, 0);
}

}  // namespace
}  // namespace kthw::resources
