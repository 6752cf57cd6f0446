#include "resources/desired_state.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "resources/convert.h"
#include "resources/schema_registry.h"
#include "resources/semantic_checks.h"

namespace kthw::resources {
namespace {

constexpr std::string_view kKthwGroup = "kthw.dev/";

std::string kindList(const SchemaRegistry& registry) {
  std::string out;
  for (const KindSchema& k : registry.kinds()) {
    if (k.version == k.storageVersion) out += (out.empty() ? "" : ", ") + k.kind;
  }
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

// What did not make it into the state, so that a problem that may follow only from that is not
// reported as one of its own: documents that failed validation, by kind and name (an empty name
// when they have none), and the kinds of documents the loader could not read.
struct Unloaded {
  std::set<std::pair<std::string, std::string>> invalid;
  std::set<std::string> lostKinds;
  bool lostUnknownKinds = false;

  explicit Unloaded(const std::vector<UnreadDocuments>& unread) {
    for (const UnreadDocuments& u : unread) {
      lostKinds.insert(u.kinds.begin(), u.kinds.end());
      lostUnknownKinds = lostUnknownKinds || u.unknownKinds;
    }
  }

  // Whether a document that did not load may have declared the resource: one of its kind was
  // lost or has no name, one under its name is invalid, or (for a selector) any of its kind is.
  bool mayHaveDeclared(const MissingResource& m) const {
    if (lostUnknownKinds || lostKinds.count(m.kind) > 0 || invalid.count({m.kind, ""}) > 0) {
      return true;
    }
    if (!m.name.empty()) return invalid.count({m.kind, m.name}) > 0;
    auto it = invalid.lower_bound({m.kind, ""});
    return it != invalid.end() && it->first == m.kind;
  }
};

// metadata.name as written, or nothing when it is missing or not a string.
const Node* nameNode(const Node& root) {
  const Node* metadata = root.find("metadata");
  const Node* name = metadata != nullptr ? metadata->find("name") : nullptr;
  if (name == nullptr || !name->isScalar() || name->scalar.empty()) return nullptr;
  return name;
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

namespace {

// A document of a served version that is not the storage one is read as the storage version:
// the registry serves such versions only where the fields are the same, so the apiVersion is
// all that changes, and what reaches the API server says the version it is sent to.
void convertToStorageVersion(const KindSchema& kind, Document& doc, LoadOutcome& outcome) {
  Node* apiVersion = doc.root.find("apiVersion");
  outcome.warnings.push_back(Diagnostic{
      apiVersion->mark, "apiVersion",
      (kind.deprecationWarning.empty() ? kind.apiVersion() + " is not the version kthw sends"
                                       : kind.deprecationWarning) +
          "; sent as " + kind.storageApiVersion() + ", whose fields are the same"});
  apiVersion->scalar = kind.storageApiVersion();
  apiVersion->raw = kind.storageApiVersion();
}

// The kind a document that failed its apiVersion/kind check was meant to be, or "" when unknown.
std::string intendedKind(const Document& doc) {
  const Node* kind = doc.root.isMapping() ? doc.root.find("kind") : nullptr;
  return kind != nullptr && kind->isScalar() ? kind->scalar : "";
}

// Sets ProxyJump::via of every host reached through a bastion (see host.h).
void resolveProxyJumps(DesiredState& state) {
  for (Host& h : state.hosts) {
    if (!h.ssh.proxyJump) continue;
    ProxyJump& j = *h.ssh.proxyJump;
    if (!j.host.empty()) {
      if (const Host* named = state.findHost(j.host)) j.via = std::make_shared<const Host>(*named);
      continue;
    }
    auto via = std::make_shared<Host>();
    std::string rest = j.address;
    via->ssh = h.ssh;  // this host's credentials and timeouts
    via->ssh.proxyJump.reset();
    via->ssh.knownHostsFile.clear();
    via->ssh.hostKeyPolicy = HostKeyPolicy::kStrict;
    via->ssh.port = 22;
    if (const size_t at = rest.find('@'); at != std::string::npos) {
      via->ssh.user = rest.substr(0, at);
      rest = rest.substr(at + 1);
    }
    if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
      via->ssh.port = std::stoi(rest.substr(colon + 1));
      rest = rest.substr(0, colon);
    }
    via->address = rest;
    via->ssh.hostKey = j.hostKey;
    via->metadata.name = j.address;
    j.via = std::move(via);
  }
}

LoadOutcome build(std::vector<Document> documents, const std::vector<UnreadDocuments>& unread) {
  const SchemaRegistry& registry = SchemaRegistry::builtin();
  LoadOutcome outcome;
  Diagnostics& errors = outcome.errors;
  Unloaded unloaded(unread);
  std::map<std::pair<std::string, std::string>, Mark> names;  // (kind, name) -> first name
  for (Document& doc : documents) {
    const Node* name = nameNode(doc.root);
    const KindSchema* kind = nullptr;
    if (!doc.root.isMapping()) {
      errors.push_back(Diagnostic{doc.root.mark, "",
                                  "a document must be an object with apiVersion, kind, "
                                  "metadata and spec"});
    } else {
      kind = schemaFor(registry, doc, errors);
    }
    if (kind == nullptr) {
      const std::string meant = intendedKind(doc);
      if (meant.empty()) unloaded.lostUnknownKinds = true;
      unloaded.invalid.insert({meant, name != nullptr ? name->scalar : ""});
      continue;
    }
    // A name declared twice is reported once, at the second, which is left out: whatever
    // refers to the name means the first, so nothing else is blamed for the repeat.
    bool duplicate = false;
    if (name != nullptr) {
      auto [first, inserted] = names.emplace(std::pair{kind->kind, name->scalar}, name->mark);
      if (!inserted) {
        errors.push_back(Diagnostic{name->mark, "metadata.name",
                                    "duplicate " + kind->kind + " " + quoteValue(name->scalar) +
                                        " (first defined at " + first->second.fileName() + ":" +
                                        std::to_string(first->second.line) + ")"});
        duplicate = true;
      }
    }
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
      unloaded.invalid.insert({kind->kind, name != nullptr ? name->scalar : ""});
      continue;
    }
    if (duplicate) continue;
    if (kind->version != kind->storageVersion) convertToStorageVersion(*kind, doc, outcome);
    addTyped(outcome.state, *kind, doc);
  }
  Diagnostics checks;
  checkDesiredState(outcome.state, checks);
  resolveProxyJumps(outcome.state);
  for (Diagnostic& d : checks) {
    if (!d.missing || !unloaded.mayHaveDeclared(*d.missing)) errors.push_back(std::move(d));
  }
  sortDiagnostics(errors);
  sortDiagnostics(outcome.warnings);
  return outcome;
}

}  // namespace

std::vector<std::string> LoadOutcome::warningLines() const {
  std::vector<std::string> lines;
  for (const Diagnostic& w : warnings) lines.push_back(w.toString("warning"));
  return lines;
}

LoadOutcome buildDesiredState(std::vector<Document> documents) {
  return build(std::move(documents), {});
}

LoadOutcome buildDesiredState(LoadResult loaded) {
  LoadOutcome outcome = build(std::move(loaded.documents), loaded.unread);
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
