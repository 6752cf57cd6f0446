// The CRDs declare, for every string, which text it accepts, so that an API server holding the
// same CRDs refuses what kthw refuses.
#include <gtest/gtest.h>

#include <regex>

#include "resources/formats.h"
#include "resources/schema_registry.h"

namespace kthw::resources {
namespace {

// Formats an API server knows as well, and the kthw formats that are always paired with a
// pattern (checked below).
bool declaresText(const Schema& s) {
  if (!s.enumValues.empty() || !s.pattern.empty()) return true;
  return s.format == "ipv4" || s.format == "dns-name" || s.format == "multiline";
}

void lint(const Schema& s, const std::string& path, std::vector<std::string>& problems) {
  const bool stringLike = s.type == Schema::Type::kString || s.intOrString;
  if (stringLike && !declaresText(s)) problems.push_back(path + ": no pattern, enum or format");
  if (stringLike && !s.pattern.empty() && (s.pattern.front() != '^' || s.pattern.back() != '$')) {
    problems.push_back(path + ": pattern " + s.pattern + " is not anchored at both ends");
  }
  if ((s.format == "path" || s.format == "duration") && s.pattern.empty()) {
    problems.push_back(path + ": format " + s.format + " without the pattern an API server checks");
  }
  for (const auto& [name, child] : s.properties) lint(*child, path + "." + name, problems);
  if (s.additionalProperties) lint(*s.additionalProperties, path + ".*", problems);
  if (s.items) lint(*s.items, path + "[]", problems);
}

TEST(SchemaLint, EveryStringDeclaresTheTextItAccepts) {
  std::vector<std::string> problems;
  const SchemaRegistry& r = SchemaRegistry::builtin();
  lint(r.objectMeta(), "ObjectMeta", problems);
  for (const KindSchema& k : r.kinds()) {
    if (k.schema->preserveUnknownFields) continue;
    lint(*k.schema, k.kind, problems);
  }
  for (const std::string& p : problems) ADD_FAILURE() << p;
}

// Every pattern of every string refuses a line break, a carriage return and a NUL in a value it
// would otherwise accept: the rule the validator applies first is also the CRDs' own.
void patternsRefuseControl(const Schema& s, const std::string& path,
                           std::vector<std::string>& problems) {
  if (!s.pattern.empty() && s.format != "multiline") {
    const std::regex re(s.pattern);
    for (const char* sample : {"a\nb", "/a\rb", "a\x01", "1\n"}) {
      if (std::regex_search(std::string(sample), re)) {
        problems.push_back(path + ": pattern " + s.pattern + " accepts a control character");
      }
    }
  }
  for (const auto& [name, child] : s.properties) {
    patternsRefuseControl(*child, path + "." + name, problems);
  }
  if (s.additionalProperties) patternsRefuseControl(*s.additionalProperties, path + ".*", problems);
  if (s.items) patternsRefuseControl(*s.items, path + "[]", problems);
}

TEST(SchemaLint, NoPatternAcceptsAControlCharacter) {
  std::vector<std::string> problems;
  for (const KindSchema& k : SchemaRegistry::builtin().kinds()) {
    patternsRefuseControl(*k.schema, k.kind, problems);
  }
  for (const std::string& p : problems) ADD_FAILURE() << p;
}

// The path format and the pattern that stands for it in an API server agree.
TEST(SchemaLint, PathPatternAgreesWithThePathFormat) {
  const std::regex pattern(
      R"(^(/([^/.\x00-\x1f\x7f][^/\x00-\x1f\x7f]*|\.[^/.\x00-\x1f\x7f][^/\x00-\x1f\x7f]*|\.\.[^/\x00-\x1f\x7f]+))+$)");
  for (const char* p : {"/etc/ca.pem", "/.hidden", "/a/..b", "/a/...", "/a b/c;d{e}", "/etc/..",
                        "/etc/.", "/", "//etc", "/etc/", "etc", "/a/./b", "/a\n", ""}) {
    EXPECT_EQ(std::regex_match(std::string(p), pattern), isNormalizedAbsolutePath(p)) << p;
  }
}

}  // namespace
}  // namespace kthw::resources
