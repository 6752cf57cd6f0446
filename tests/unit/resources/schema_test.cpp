#include "resources/schema.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "resources/schema_registry.h"
#include "resources/yaml_loader.h"

namespace kthw::resources {
namespace {

std::shared_ptr<Schema> schemaFrom(const std::string& yaml) {
  LoadResult r = parseYaml(yaml, "schema.yaml");
  EXPECT_TRUE(r.errors.empty());
  auto s = parseSchema(r.documents.at(0).root);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : nullptr;
}

Diagnostics validate(const Schema& schema, const std::string& yaml, Node* out = nullptr) {
  LoadResult r = parseYaml(yaml, "doc.yaml");
  EXPECT_TRUE(r.errors.empty());
  Diagnostics d;
  validateAndDefault(schema, r.documents.at(0).root, "", d);
  if (out != nullptr) *out = r.documents.at(0).root;
  return d;
}

const char* kObject = R"(
type: object
required: [name]
properties:
  name: {type: string, pattern: '^[a-z]+$'}
  port: {type: integer, minimum: 1, maximum: 65535, default: 22}
  mode: {type: string, default: "0644"}
  policy: {type: string, enum: [Strict, AcceptNew]}
  enabled: {type: boolean}
  size: {x-kubernetes-int-or-string: true}
  nested:
    type: object
    default: {}
    properties:
      leaf: {type: string, default: x}
  oneOf:
    type: object
    minProperties: 1
    maxProperties: 1
    properties:
      a: {type: string}
      b: {type: string}
  flags:
    type: object
    additionalProperties:
      x-kubernetes-int-or-string: true
      nullable: true
)";

TEST(Schema, AppliesDefaultsRecursively) {
  auto s = schemaFrom(kObject);
  Node doc;
  EXPECT_TRUE(validate(*s, "name: abc\n", &doc).empty());
  EXPECT_EQ(doc.find("port")->integer(), 22);
  EXPECT_EQ(doc.str("mode"), "0644");
  EXPECT_EQ(doc.find("nested")->str("leaf"), "x");
}

TEST(Schema, ReportsUnknownFieldsWithASuggestion) {
  auto s = schemaFrom(kObject);
  Diagnostics d = validate(*s, "name: abc\nprot: 22\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].toString(), "doc.yaml:2:1: prot: unknown field \"prot\"; did you mean \"port\"?");
}

TEST(Schema, ReportsMissingRequiredFieldAtTheParent) {
  auto s = schemaFrom(kObject);
  Diagnostics d = validate(*s, "port: 1\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].toString(), "doc.yaml:1:1: name: required field is missing");
}

TEST(Schema, ExplainsUnquotedNumbersWhereStringsBelong) {
  auto s = schemaFrom(kObject);
  Diagnostics d = validate(*s, "name: abc\nmode: 0755\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "must be a string, got integer 0755 (quote it: \"0755\")");
}

TEST(Schema, RefusesYaml11BooleansAsStrings) {
  auto s = schemaFrom(kObject);
  Diagnostics d = validate(*s, "name: abc\npolicy: no\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("reads as a boolean in YAML 1.1"), std::string::npos);
}

TEST(Schema, ChecksRangesEnumsPatternsAndTypes) {
  auto s = schemaFrom(kObject);
  Diagnostics d = validate(*s, "name: ABC\nport: 70000\npolicy: Lax\nenabled: 'true'\nsize: [1]\n");
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].path, "name");
  EXPECT_NE(d[0].message.find("does not match"), std::string::npos);
  EXPECT_EQ(d[1].message, "must be at most 65535, got 70000");
  EXPECT_EQ(d[2].message, "must be one of: Strict, AcceptNew; got \"Lax\"");
  EXPECT_EQ(d[3].message, "must be a boolean (true or false), got string true");
  EXPECT_EQ(d[4].message, "must be an integer or a string, got a list");
}

TEST(Schema, EnforcesPropertyCounts) {
  auto s = schemaFrom(kObject);
  EXPECT_TRUE(validate(*s, "name: a\noneOf: {a: x}\n").size() == 0);
  Diagnostics two = validate(*s, "name: a\noneOf: {a: xx, b: yy}\n");
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].message, "must have at most 1 field(s), got 2");
  EXPECT_EQ(validate(*s, "name: a\noneOf: {}\n").size(), 1u);
}

TEST(Schema, AcceptsNullAndIntOrStringInAdditionalProperties) {
  auto s = schemaFrom(kObject);
  EXPECT_TRUE(validate(*s, "name: a\nflags: {v: 2, client-cert-auth: ~, mode: x}\n").empty());
  EXPECT_EQ(validate(*s, "name: a\nflags: {v: true}\n").size(), 1u);
}

TEST(Schema, RejectsKeywordsItDoesNotImplement) {
  LoadResult r = parseYaml("type: string\noneOf: []\n", "s.yaml");
  auto s = parseSchema(r.documents.at(0).root);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unsupported keyword oneOf"), std::string::npos);
}

TEST(Schema, RequiresStructuralTypes) {
  LoadResult r = parseYaml("properties: {a: {type: string}}\n", "s.yaml");
  auto s = parseSchema(r.documents.at(0).root);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("structural schemas need a type"), std::string::npos);
}

TEST(SchemaRegistry, HoldsEveryKind) {
  const SchemaRegistry& r = SchemaRegistry::builtin();
  for (const char* kind : {"Host", "CertificateBundle", "ControlPlaneService", "LoadBalancer"}) {
    const KindSchema* k = r.find("kthw.dev/v1alpha1", kind);
    ASSERT_NE(k, nullptr) << kind;
    EXPECT_NE(k->schema->property("spec"), nullptr) << kind;
    EXPECT_EQ(k->schema->property("metadata"), &r.objectMeta()) << kind;
  }
  EXPECT_NE(r.find("rbac.authorization.k8s.io/v1", "ClusterRole"), nullptr);
  EXPECT_NE(r.find("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), nullptr);
  EXPECT_EQ(r.find("rbac.authorization.k8s.io/v1alpha1", "ClusterRole"), nullptr);
}

TEST(SchemaRegistry, ServesRbacV1beta1AsADeprecatedVersionWithTheFieldsOfV1) {
  const SchemaRegistry& r = SchemaRegistry::builtin();
  for (const char* kind : {"ClusterRole", "ClusterRoleBinding"}) {
    const KindSchema* beta = r.find("rbac.authorization.k8s.io/v1beta1", kind);
    const KindSchema* v1 = r.find("rbac.authorization.k8s.io/v1", kind);
    ASSERT_NE(beta, nullptr) << kind;
    ASSERT_NE(v1, nullptr) << kind;
    EXPECT_EQ(beta->schema, v1->schema) << kind;
    EXPECT_EQ(beta->storageApiVersion(), "rbac.authorization.k8s.io/v1") << kind;
    EXPECT_NE(beta->deprecationWarning.find("deprecated"), std::string::npos) << kind;
    EXPECT_TRUE(v1->deprecationWarning.empty()) << kind;
    EXPECT_EQ(r.findKind(kind), v1) << kind;  // what "use ..." messages name
  }
}

// The API server needs a schema for every version of a CRD it installs: only a deprecated
// version (builtin.yaml's RBAC v1beta1) may share the storage version's.
TEST(SchemaRegistry, RefusesAVersionWithoutSchemaUnlessItIsDeprecated) {
  const std::string crd = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.kthw.dev}
spec:
  group: kthw.dev
  names: {kind: Thing}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object}}
    - name: v1beta1
      served: true
      storage: false
)";
  const std::string meta = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: objectmeta.kthw.dev}
spec:
  group: kthw.dev
  names: {kind: ObjectMeta}
  versions: [{name: v1alpha1, served: false, storage: true, schema: {openAPIV3Schema: {type: object}}}]
)";
  auto refused = SchemaRegistry::fromCrdTexts({{"meta.yaml", meta}, {"crd.yaml", crd}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("version without schema.openAPIV3Schema"),
            std::string::npos)
      << refused.status().message();
  auto shared = SchemaRegistry::fromCrdTexts(
      {{"meta.yaml", meta}, {"crd.yaml", crd + "      deprecated: true\n"}});
  ASSERT_TRUE(shared.ok()) << shared.status().message();
  const KindSchema* beta = shared->find("kthw.dev/v1beta1", "Thing");
  ASSERT_NE(beta, nullptr);
  EXPECT_EQ(beta->schema, shared->find("kthw.dev/v1", "Thing")->schema);
  EXPECT_EQ(beta->deprecationWarning, "kthw.dev/v1beta1 is deprecated");
}

TEST(SchemaRegistry, CrdsOnDiskParseAsStructuralCustomResourceDefinitions) {
  std::vector<std::pair<std::string, std::string>> texts;
  for (const auto& entry : std::filesystem::directory_iterator(KTHW_SOURCE_DIR "/crds")) {
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    texts.emplace_back(entry.path().string(), ss.str());
  }
  std::ifstream builtin(KTHW_SOURCE_DIR "/src/resources/schemas/builtin.yaml");
  std::stringstream ss;
  ss << builtin.rdbuf();
  texts.emplace_back("builtin.yaml", ss.str());
  auto registry = SchemaRegistry::fromCrdTexts(texts);
  ASSERT_TRUE(registry.ok()) << registry.status().message();
  EXPECT_EQ(registry->kinds().size(), 8u);  // RBAC in v1 and v1beta1
  for (const KindSchema& k : registry->kinds()) {
    if (k.group != "kthw.dev") continue;
    EXPECT_EQ(k.version, "v1alpha1");
    EXPECT_TRUE(k.deprecationWarning.empty()) << k.kind;
    EXPECT_NE(k.schema->property("status"), nullptr) << k.kind;
  }
}

}  // namespace
}  // namespace kthw::resources
