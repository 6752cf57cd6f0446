#include "resources/yaml_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kthw::resources {
namespace {

TEST(YamlLoader, TracksLineAndColumnOfEveryValue) {
  LoadResult r = parseYaml("a:\n  b: [1, two]\n  c: |\n    text\n", "f.yaml");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.documents.size(), 1u);
  const Node* b = r.documents[0].root.find("a")->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->mark.line, 2);
  EXPECT_EQ(b->mark.column, 6);
  EXPECT_EQ(b->items[1].scalar, "two");
  EXPECT_EQ(b->items[1].mark.column, 10);
  EXPECT_EQ(b->items[1].mark.fileName(), "f.yaml");
  EXPECT_EQ(r.documents[0].root.find("a")->str("c"), "text\n");
}

TEST(YamlLoader, KeepsMappingOrder) {
  LoadResult r = parseYaml("z: 1\na: 2\nm: 3\n", "f.yaml");
  const auto& entries = r.documents.at(0).root.entries;
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "z");
  EXPECT_EQ(entries[1].key, "a");
  EXPECT_EQ(entries[2].key, "m");
}

TEST(YamlLoader, SplitsDocumentsAndSkipsEmptyOnes) {
  LoadResult r = parseYaml("---\na: 1\n---\n---\nb: 2\n...\n", "f.yaml");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.documents.size(), 2u);
  EXPECT_EQ(r.documents[1].root.entries[0].key, "b");
  EXPECT_EQ(r.documents[1].mark.line, 4);
}

TEST(YamlLoader, ResolvesScalarsWithTheCoreSchema) {
  LoadResult r = parseYaml("[1, 0x1f, 1.5, true, ~, '1', \"true\", 0755, yes, 1e3]", "f.yaml");
  const auto& items = r.documents.at(0).root.items;
  EXPECT_EQ(items[0].scalarKind(), ScalarKind::kInt);
  EXPECT_EQ(items[1].integer(), 31);
  EXPECT_EQ(items[2].scalarKind(), ScalarKind::kFloat);
  EXPECT_EQ(items[3].scalarKind(), ScalarKind::kBool);
  EXPECT_TRUE(items[4].isNull());
  EXPECT_EQ(items[5].scalarKind(), ScalarKind::kString);
  EXPECT_EQ(items[6].scalarKind(), ScalarKind::kString);
  EXPECT_EQ(items[7].integer(), 755);  // YAML 1.2: a decimal, not octal
  EXPECT_EQ(items[8].scalarKind(), ScalarKind::kString);
  EXPECT_EQ(items[9].scalarKind(), ScalarKind::kFloat);
}

TEST(YamlLoader, RejectsDuplicateKeysAtTheSecondKey) {
  LoadResult r = parseYaml("m:\n  a: 1\n  b: 2\n  a: 3\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].toString(), "f.yaml:4:3: m.a: duplicate key \"a\" (first at line 2)");
  EXPECT_EQ(r.documents.at(0).root.find("m")->str("a"), "1");
}

// Three files joined without "---": each document's keys repeat the one's before it.
constexpr const char* kJoined = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: a}
spec: {address: 10.0.1.10}
# the second file
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: b}
spec: {address: 10.0.1.11}
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: r}
rules: []
)";

TEST(YamlLoader, DocumentsJoinedWithoutSeparatorAreReadApartWithOneErrorEach) {
  LoadResult r = parseYaml(kJoined, "f.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].toString(),
            "f.yaml:6:1: apiVersion: duplicate key \"apiVersion\" (first at line 1): a \"---\" "
            "line is probably missing here; read as the start of a new document");
  EXPECT_EQ(r.errors[1].toString(),
            "f.yaml:10:1: kind: duplicate key \"kind\" (first at line 7): a \"---\" line is "
            "probably missing here; read as the start of a new document");
  ASSERT_EQ(r.documents.size(), 3u);
  EXPECT_EQ(r.documents[0].root.find("metadata")->str("name"), "a");
  EXPECT_EQ(r.documents[0].root.entries.size(), 4u);
  EXPECT_EQ(r.documents[1].root.find("metadata")->str("name"), "b");
  EXPECT_EQ(r.documents[1].mark.line, 6);
  EXPECT_EQ(r.documents[2].root.str("kind"), "ClusterRole");
  EXPECT_EQ(r.documents[2].root.find("rules")->mark.line, 13);
  EXPECT_TRUE(r.unread.empty());
}

TEST(YamlLoader, ATopLevelKeyWrittenTwiceKeepsItsFirstValueAndHintsAtASeparator) {
  LoadResult r = parseYaml("apiVersion: v1\nkind: Host\nspec: {a: 1}\nspec: {a: 2}\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].toString(),
            "f.yaml:4:1: spec: duplicate key \"spec\" (first at line 3); if a new document starts "
            "here, a \"---\" line is missing before it");
  ASSERT_EQ(r.documents.size(), 1u);
  EXPECT_EQ(r.documents[0].root.find("spec")->str("a"), "1");
}

TEST(YamlLoader, AYamlErrorLosesTheRestOfTheFileAndTellsItsKinds) {
  LoadResult r = parseYaml(
      "kind: Host\nmetadata: {name: a}\n---\n"
      "kind: Host\nmetadata:\n  name: b\n\tlabels: {}\n---\n"  // a tab on line 7
      "# a comment\nkind: 'ClusterRole'  # quoted\nmetadata: {name: r}\n",
      "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].mark.line, 7);
  EXPECT_NE(r.errors[0].message.find("YAML indents with spaces, never tabs; the rest of the file "
                                     "is not read"),
            std::string::npos)
      << r.errors[0].message;
  ASSERT_EQ(r.documents.size(), 1u);
  ASSERT_EQ(r.unread.size(), 1u);
  EXPECT_EQ(r.unread[0].kinds, (std::vector<std::string>{"Host", "ClusterRole"}));
  EXPECT_FALSE(r.unread[0].unknownKinds);
}

TEST(YamlLoader, ALostDocumentWithoutKindLineHasAnUnknownKind) {
  LoadResult r = parseYaml("a: [1\n---\nkind: Host\n", "f.yaml");
  ASSERT_EQ(r.unread.size(), 1u);
  EXPECT_EQ(r.unread[0].kinds, std::vector<std::string>{"Host"});
  EXPECT_TRUE(r.unread[0].unknownKinds);
}

TEST(YamlLoader, RejectsAliases) {
  LoadResult r = parseYaml("a: &x {b: 1}\nc: *x\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].mark.line, 2);
  EXPECT_NE(r.errors[0].message.find("aliases are not supported"), std::string::npos);
}

TEST(YamlLoader, RejectsUnknownTags) {
  LoadResult r = parseYaml("a: !secret value\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("tag !secret is not supported"), std::string::npos);
}

TEST(YamlLoader, ReportsSyntaxErrorsWithPosition) {
  LoadResult r = parseYaml("a: [1, 2\nb: 3\n", "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].mark.fileName(), "f.yaml");
  EXPECT_GE(r.errors[0].mark.line, 2);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
}

TEST(YamlLoader, BoundsNestingDepth) {
  std::string deep(200, '[');
  deep += std::string(200, ']');
  LoadResult r = parseYaml(deep, "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("nesting deeper than 64"), std::string::npos);
}

TEST(YamlLoader, BoundsDocumentCount) {
  LoadLimits limits;
  limits.maxDocuments = 3;
  std::string many;
  for (int i = 0; i < 10; ++i) many += "---\na: 1\n";
  LoadResult r = parseYaml(many, "f.yaml", limits);
  EXPECT_EQ(r.documents.size(), 3u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("more than 3 documents"), std::string::npos);
}

TEST(YamlLoader, BoundsFileSize) {
  LoadLimits limits;
  limits.maxFileBytes = 16;
  LoadResult r = parseYaml("a: 0123456789012345678901234567890\n", "f.yaml", limits);
  EXPECT_TRUE(r.documents.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("larger than 16 bytes"), std::string::npos);
}

TEST(YamlLoader, BoundsValueCount) {
  LoadLimits limits;
  limits.maxNodes = 100;
  std::string flat = "[";
  for (int i = 0; i < 500; ++i) flat += "1,";
  flat += "1]";
  LoadResult r = parseYaml(flat, "f.yaml", limits);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("more than 100 values"), std::string::npos);
}

TEST(YamlLoader, ReadsStandardInputForDash) {
  std::istringstream in("a: 1\n---\nb: 2\n");
  LoadResult r = loadPaths({"-"}, in);
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.documents.size(), 2u);
  EXPECT_EQ(r.documents[0].root.mark.fileName(), "<stdin>");
}

TEST(YamlLoader, ReportsMissingPath) {
  std::istringstream in;
  LoadResult r = loadPaths({"/nonexistent/kthw"}, in);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].toString(), "/nonexistent/kthw: no such file or directory");
}

// A fresh directory below the test's temporary directory.
std::string freshDirectory(const std::string& name) {
  const std::string dir =
      ::testing::TempDir() + "/kthw-loader-" + std::to_string(::getpid()) + "-" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(YamlLoader, ADirectoryWithoutYamlFilesIsAnErrorNamingIt) {
  const std::string dir = freshDirectory("no-yaml");
  writeFile(dir + "/notes.txt", "apiVersion: kthw.dev/v1alpha1\n");
  std::istringstream none;
  LoadResult r = loadPaths({dir}, none);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].toString(),
            dir + ": no kthw documents: no *.yaml or *.yml file below this directory");
}

TEST(YamlLoader, ADirectoryWhoseYamlFilesHoldNoDocumentIsAnError) {
  const std::string dir = freshDirectory("comments-only");
  writeFile(dir + "/a.yaml", "# nothing yet\n---\n");
  writeFile(dir + "/b.yml", "");
  std::istringstream none;
  LoadResult r = loadPaths({dir}, none);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].toString(),
            dir + ": no kthw documents: the 2 YAML file(s) below this directory hold none");
}

TEST(YamlLoader, EachEmptyPathIsReportedBesideGoodOnes) {
  const std::string good = freshDirectory("good");
  writeFile(good + "/h.yaml", "a: 1\n");
  const std::string empty = freshDirectory("empty");
  const std::string emptyFile = good + "-empty.yaml";
  writeFile(emptyFile, "\n");
  std::istringstream in("");
  LoadResult r = loadPaths({good, empty, emptyFile, "-"}, in);
  EXPECT_EQ(r.documents.size(), 1u);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].toString(),
            empty + ": no kthw documents: no *.yaml or *.yml file below this directory");
  EXPECT_EQ(r.errors[1].toString(), emptyFile + ": no kthw documents in it");
  EXPECT_EQ(r.errors[2].toString(), "<stdin>: no kthw documents in it");
}

TEST(YamlLoader, AFileThatFailedToLoadIsNotAlsoCalledEmpty) {
  const std::string dir = freshDirectory("broken");
  writeFile(dir + "/h.yaml", "a: [1\n");
  std::istringstream none;
  LoadResult r = loadPaths({dir}, none);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
}

}  // namespace
}  // namespace kthw::resources
