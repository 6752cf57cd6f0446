#include "resources/desired_state.h"

#include <algorithm>

#include "resources/convert.h"
#include "resources/schema_registry.h"
#include "resources/semantic_checks.h"

namespace kthw::resources {
namespace {

constexpr std::string_view kKthwGroup = "kthw.dev/";

std::string kindList(const SchemaRegistry& registry) {
  std::string out;
  for (const KindSchema& k : registry.kinds()) out += (out.empty() ? "" : ", ") + k.kind;
  return out;
}

// Checks apiVersion and kind; returns the schema to validate against, or nullptr.
const KindSchema* schemaFor(const SchemaRegistry& registry, const Document& doc, Diagnostics& out) {
  const Node& root = doc.root;
  const Node* apiVersion = root.find("apiVersion");
  const Node* kind = root.find("kind");
  bool ok = true;
  for (const auto& [name, node] : {std::pair{"apiVersion", apiVersion}, std::pair{"kind", kind}}) {
    if (node == nullptr) {
      out.push_back(Diagnostic{root.mark, name, "required field is missing"});
      ok = false;
    } else if (!node->isScalar() || node->scalarKind() != ScalarKind::kString) {
      if (!node->erroneous) out.push_back(Diagnostic{node->mark, name, "must be a string"});
      ok = false;
    }
  }
  if (!ok) return nullptr;
  if (const KindSchema* k = registry.find(apiVersion->scalar, kind->scalar)) return k;
  const KindSchema* sameKind = registry.findKind(kind->scalar);
  if (sameKind == nullptr) {
    out.push_back(Diagnostic{
        kind->mark, "kind",
        "unknown kind " + quoteValue(kind->scalar) + " (known: " + kindList(registry) + ")"});
    return nullptr;
  }
  std::string message = quoteValue(apiVersion->scalar) + " is not served for " + kind->scalar +
                        "; use " + sameKind->apiVersion();
  if (apiVersion->scalar.starts_with("rbac.authorization.k8s.io/v1")) {
    message += " (" + escapeValue(apiVersion->scalar) + " was removed in Kubernetes 1.22)";
  }
  out.push_back(Diagnostic{apiVersion->mark, "apiVersion", message});
  return nullptr;
}

void addTyped(DesiredState& state, const KindSchema& kind, const Document& doc) {
  ObjectMeta meta = toObjectMeta(*doc.root.find("metadata"), doc.mark);
  if (kind.kind == "Host") {
    state.hosts.push_back(toHost(doc.root, std::move(meta)));
  } else if (kind.kind == "CertificateBundle") {
    state.bundles.push_back(toCertificateBundle(doc.root, std::move(meta)));
  } else if (kind.kind == "ControlPlaneService") {
    state.services.push_back(toControlPlaneService(doc.root, std::move(meta)));
  } else if (kind.kind == "LoadBalancer") {
    state.loadBalancers.push_back(toLoadBalancer(doc.root, std::move(meta)));
  } else {
    state.rbac.push_back(toRbacObject(doc.root, std::move(meta)));
  }
}

}  // namespace

const Host* DesiredState::findHost(std::string_view name) const {
  for (const Host& h : hosts) {
    if (h.name() == name) return &h;
  }
  return nullptr;
}

const LoadBalancer* DesiredState::findLoadBalancer(std::string_view name) const {
  for (const LoadBalancer& lb : loadBalancers) {
    if (lb.name() == name) return &lb;
  }
  return nullptr;
}

const CertificateBundle* DesiredState::findBundle(std::string_view name) const {
  for (const CertificateBundle& b : bundles) {
    if (b.name() == name) return &b;
  }
  return nullptr;
}

bool DesiredState::selects(const HostTarget& target, const Host& host) const {
  if (std::find(target.names.begin(), target.names.end(), host.name()) != target.names.end()) {
    return true;
  }
  if (target.selector.empty()) return false;
  for (const auto& [key, value] : target.selector) {
    auto it = host.metadata.labels.find(key);
    if (it == host.metadata.labels.end() || it->second != value) return false;
  }
  return true;
}

std::vector<const Host*> DesiredState::select(const HostTarget& target) const {
  std::vector<const Host*> out;
  for (const Host& h : hosts) {
    if (selects(target, h)) out.push_back(&h);
  }
  std::sort(out.begin(), out.end(),
            [](const Host* a, const Host* b) { return a->name() < b->name(); });
  return out;
}

size_t DesiredState::resourceCount() const {
  return hosts.size() + bundles.size() + services.size() + loadBalancers.size() + rbac.size();
}

LoadOutcome buildDesiredState(std::vector<Document> documents) {
  const SchemaRegistry& registry = SchemaRegistry::builtin();
  LoadOutcome outcome;
  Diagnostics& errors = outcome.errors;
  KnownNames invalidNames;
  for (Document& doc : documents) {
    if (!doc.root.isMapping()) {
      errors.push_back(Diagnostic{doc.root.mark, "",
                                  "a document must be an object with apiVersion, kind, "
                                  "metadata and spec"});
      continue;
    }
    const KindSchema* kind = schemaFor(registry, doc, errors);
    if (kind == nullptr) continue;
    const size_t before = errors.size();
    validateAndDefault(*kind->schema, doc.root, "", errors);
    if (kind->apiVersion().starts_with(kKthwGroup)) {
      for (const MapEntry& e : doc.root.entries) {
        if (e.key == "status") {
          errors.push_back(Diagnostic{e.keyMark, "status",
                                      "status is reported by kthw, not read from the desired "
                                      "state; remove it"});
        }
      }
    }
    if (doc.root.find("metadata") == nullptr) {
      errors.push_back(Diagnostic{doc.root.mark, "metadata", "required field is missing"});
    }
    if (errors.size() != before) {
      if (const Node* metadata = doc.root.find("metadata")) {
        invalidNames.insert({kind->kind, metadata->str("name")});
      }
      continue;
    }
    addTyped(outcome.state, *kind, doc);
  }
  checkDesiredState(outcome.state, invalidNames, errors);
  sortDiagnostics(errors);
  return outcome;
}

LoadOutcome buildDesiredState(LoadResult loaded) {
  LoadOutcome outcome = buildDesiredState(std::move(loaded.documents));
  outcome.errors.insert(outcome.errors.begin(), std::make_move_iterator(loaded.errors.begin()),
                        std::make_move_iterator(loaded.errors.end()));
  outcome.omittedErrors = loaded.omittedErrors;
  sortDiagnostics(outcome.errors);
  return outcome;
}

LoadOutcome loadDesiredState(const std::vector<std::string>& paths, std::istream& standardInput,
                             const LoadLimits& limits) {
  return buildDesiredState(loadPaths(paths, standardInput, limits));
}

}  // namespace kthw::resources
