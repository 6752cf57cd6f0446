// YAML documents kthw writes, fed with values that would add keys if pasted into text: each
// parses back (through the project's libyaml loader) to exactly the intended structure.
#include <gtest/gtest.h>

#include "reconcilers/bundle_files.h"
#include "reconcilers/yaml_emitter.h"
#include "resources/yaml_loader.h"

namespace kthw::reconcilers {
namespace {

using resources::Node;

Node parse(const std::string& text) {
  resources::LoadResult r = resources::parseYaml(text, "generated.yaml");
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].toString()) << "\n" << text;
  EXPECT_EQ(r.documents.size(), 1u) << text;
  return r.documents.empty() ? Node{} : r.documents[0].root;
}

std::vector<std::string> keys(const Node& n) {
  std::vector<std::string> out;
  for (const auto& e : n.entries) out.push_back(e.key);
  return out;
}

const std::string kHostileServer = "https://10.0.1.30:6443\n    insecure-skip-tls-verify: true";
const std::string kHostileUser = "admin\"\nusers: [{name: x, user: {token: t}}]\n# ";
const std::string kHostileCluster = "k: v\n- cluster: {server: http://evil}";

TEST(HostileKubeconfig, ParsesBackToExactlyTheIntendedStructure) {
  auto text = renderKubeconfig(kHostileCluster, kHostileServer, kHostileUser, "CA", "CERT", "KEY");
  ASSERT_TRUE(text.ok());
  const Node root = parse(*text);
  EXPECT_EQ(keys(root), (std::vector<std::string>{"apiVersion", "kind", "clusters", "contexts",
                                                  "current-context", "preferences", "users"}));
  ASSERT_EQ(root.find("clusters")->items.size(), 1u);
  const Node& cluster = root.find("clusters")->items[0];
  EXPECT_EQ(keys(cluster), (std::vector<std::string>{"cluster", "name"}));
  EXPECT_EQ(cluster.str("name"), kHostileCluster);
  EXPECT_EQ(keys(*cluster.find("cluster")),
            (std::vector<std::string>{"certificate-authority-data", "server"}));
  EXPECT_EQ(cluster.find("cluster")->str("server"), kHostileServer);
  EXPECT_EQ(cluster.find("cluster")->str("certificate-authority-data"), "Q0E=");
  ASSERT_EQ(root.find("users")->items.size(), 1u);
  const Node& user = root.find("users")->items[0];
  EXPECT_EQ(user.str("name"), kHostileUser);
  EXPECT_EQ(keys(*user.find("user")),
            (std::vector<std::string>{"client-certificate-data", "client-key-data"}));
  const Node& context = root.find("contexts")->items.at(0);
  EXPECT_EQ(context.find("context")->str("user"), kHostileUser);
  EXPECT_EQ(context.find("context")->str("cluster"), kHostileCluster);
  EXPECT_EQ(root.str("current-context"), "default");
}

TEST(HostileKubeconfig, PlainValuesStayReadable) {
  auto text = renderKubeconfig("kubernetes", "https://10.0.1.30:6443", "admin", "CA", "C", "K");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("    server: https://10.0.1.30:6443\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("kind: Config\n"), std::string::npos) << *text;
}

TEST(HostileEncryptionConfig, ResourcesCannotAddOrReorderProviders) {
  resources::EncryptionConfigSpec spec;
  spec.name = "e";
  spec.provider = "aescbc";
  spec.resources = {"secrets", "x: y", "- identity: {}", "providers: [{identity: {}}]"};
  EncryptionKeys material;
  material.keys = {{2, "c2VjcmV0Mg=="}, {1, "c2VjcmV0MQ=="}};
  auto text = renderEncryptionConfig(spec, material);
  ASSERT_TRUE(text.ok());
  const Node root = parse(*text);
  EXPECT_EQ(keys(root), (std::vector<std::string>{"kind", "apiVersion", "resources"}));
  EXPECT_EQ(root.str("kind"), "EncryptionConfiguration");
  const Node& rule = root.find("resources")->items.at(0);
  EXPECT_EQ(keys(rule), (std::vector<std::string>{"resources", "providers"}));
  std::vector<std::string> resources;
  for (const Node& r : rule.find("resources")->items) resources.push_back(r.scalar);
  EXPECT_EQ(resources, spec.resources);
  const Node& providers = *rule.find("providers");
  ASSERT_EQ(providers.items.size(), 2u) << *text;
  EXPECT_EQ(keys(providers.items[0]), (std::vector<std::string>{"aescbc"}));
  EXPECT_EQ(keys(providers.items[1]), (std::vector<std::string>{"identity"}));
  const Node& keyList = *providers.items[0].find("aescbc")->find("keys");
  ASSERT_EQ(keyList.items.size(), 2u);
  EXPECT_EQ(keyList.items[0].str("name"), "key2");
  EXPECT_EQ(keyList.items[0].str("secret"), "c2VjcmV0Mg==");
  EXPECT_EQ(keyList.items[1].str("name"), "key1");
}

// Every string comes back as the same string: those YAML would read as another type or as
// structure are quoted, the rest are plain.
TEST(YamlEmitter, RoundTripsEveryString) {
  const std::vector<std::string> values = {
      "yes",       "No",          "on",      "null",  "~",           "123",         "0o17",
      "1e3",       ".inf",        "",        " lead", "trail ",      "a: b",        "a #b",
      "#c",        "- d",         "[e]",     "{f}",   "&g",          "*h",          "!i",
      "|j",        ">k",          "'l'",     "\"m\"", "%n",          "@o",          "`p",
      "tab\there", "line\nbreak", "nul\x01", "x:",    "caf\xC3\xA9", "\xE2\x80\xA8"};
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  for (const std::string& v : values) list.PushBack(rapidjson::Value(v.c_str(), a), a);
  d.AddMember("values", list, a);
  auto text = emitYaml(d);
  ASSERT_TRUE(text.ok());
  const Node root = parse(*text);
  ASSERT_EQ(root.find("values")->items.size(), values.size()) << *text;
  for (size_t i = 0; i < values.size(); ++i) {
    const Node& n = root.find("values")->items[i];
    EXPECT_EQ(n.scalar, values[i]) << *text;
    EXPECT_EQ(n.scalarKind(), resources::ScalarKind::kString) << values[i];
  }
}

TEST(YamlEmitter, RefusesInvalidUtf8) {
  rapidjson::Document d(rapidjson::kObjectType);
  d.AddMember("bad", rapidjson::Value("\xFF\xFE", d.GetAllocator()), d.GetAllocator());
  EXPECT_FALSE(emitYaml(d).ok());
}

}  // namespace
}  // namespace kthw::reconcilers
