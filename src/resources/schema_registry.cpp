#include "resources/schema_registry.h"

#include <cstdlib>
#include <iostream>

#include "resources/embedded_schemas.h"
#include "resources/yaml_loader.h"

namespace kthw::resources {
namespace {

Status addCrd(const Document& doc, std::vector<KindSchema>& kinds,
              std::shared_ptr<Schema>& objectMeta) {
  const Node& root = doc.root;
  auto fail = [&](const std::string& what) {
    return invalidArgument(Diagnostic{doc.mark, "", "CRD: " + what}.toString());
  };
  if (root.str("kind") != "CustomResourceDefinition") return fail("not a CustomResourceDefinition");
  const Node* spec = root.find("spec");
  const Node* names = spec != nullptr ? spec->find("names") : nullptr;
  const Node* versions = spec != nullptr ? spec->find("versions") : nullptr;
  if (names == nullptr || versions == nullptr) return fail("spec.names and spec.versions needed");
  std::string storage;
  for (const Node& v : versions->items) {
    if (v.find("storage") != nullptr && v.find("storage")->boolean()) storage = v.str("name");
  }
  if (storage.empty()) return fail("no version with storage: true");
  std::vector<KindSchema> found;
  std::shared_ptr<Schema> storageSchema;
  for (const Node& v : versions->items) {
    KindSchema k{spec->str("group"), v.str("name"), names->str("kind"), nullptr, storage, ""};
    if (v.find("deprecated") != nullptr && v.find("deprecated")->boolean()) {
      k.deprecationWarning = v.str("deprecationWarning", k.apiVersion() + " is deprecated");
    }
    const Node* schemaNode = v.find("schema");
    const Node* openApi = schemaNode != nullptr ? schemaNode->find("openAPIV3Schema") : nullptr;
    if (openApi != nullptr) {
      auto schema = parseSchema(*openApi);
      if (!schema.ok()) return schema.status();
      k.schema = std::move(*schema);
      if (k.version == storage) storageSchema = k.schema;
    } else if (k.deprecationWarning.empty()) {
      // Only builtin.yaml leaves a schema out: a deprecated version with the storage
      // version's fields. The API server needs one per version in the CRDs it installs.
      return fail("version without schema.openAPIV3Schema");
    }
    found.push_back(std::move(k));
  }
  for (KindSchema& k : found) {
    if (!k.schema) k.schema = storageSchema;
    if (!k.schema) return fail("deprecated version without a schema, and none to share");
    if (k.kind == "ObjectMeta") {
      objectMeta = k.schema;
    } else {
      kinds.push_back(std::move(k));
    }
  }
  return okStatus();
}

}  // namespace

StatusOr<SchemaRegistry> SchemaRegistry::fromCrdTexts(
    const std::vector<std::pair<std::string, std::string>>& texts) {
  SchemaRegistry registry;
  for (const auto& [name, text] : texts) {
    LoadResult loaded = parseYaml(text, name);
    if (!loaded.errors.empty()) return invalidArgument(loaded.errors.front().toString());
    for (const Document& doc : loaded.documents) {
      Status s = addCrd(doc, registry.kinds_, registry.objectMeta_);
      if (!s.ok()) return s;
    }
  }
  if (!registry.objectMeta_) return invalidArgument("no ObjectMeta schema among the CRDs");
  // CRDs leave metadata to the API server ("type: object"); kthw checks it with ObjectMeta.
  for (KindSchema& k : registry.kinds_) {
    for (auto& [name, child] : k.schema->properties) {
      if (name == "metadata" && child->properties.empty()) child = registry.objectMeta_;
    }
  }
  return registry;
}

const SchemaRegistry& SchemaRegistry::builtin() {
  static const SchemaRegistry kRegistry = [] {
    std::vector<std::pair<std::string, std::string>> texts;
    for (const EmbeddedSchema& e : embeddedSchemas()) texts.emplace_back(e.fileName, e.text);
    auto registry = fromCrdTexts(texts);
    if (!registry.ok()) {
      // The schemas are compiled in; a broken one is a build defect that tests catch.
      std::cerr << "kthw: internal error in embedded schemas: " << registry.status().message()
                << "\n";
      std::abort();
    }
    return std::move(*registry);
  }();
  return kRegistry;
}

const KindSchema* SchemaRegistry::find(std::string_view apiVersion, std::string_view kind) const {
  for (const KindSchema& k : kinds_) {
    if (k.kind == kind && k.apiVersion() == apiVersion) return &k;
  }
  return nullptr;
}

const KindSchema* SchemaRegistry::findKind(std::string_view kind) const {
  for (const KindSchema& k : kinds_) {
    if (k.kind == kind && k.version == k.storageVersion) return &k;
  }
  return nullptr;
}

}  // namespace kthw::resources
