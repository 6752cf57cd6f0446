// How problems are shown: values from the input escaped and cut, one line per diagnostic
// whatever the input holds, and at most kMaxPrintedDiagnostics of them.
#include "resources/diagnostic.h"

#include <gtest/gtest.h>

#include <regex>

#include "test_util.h"

namespace kthw::resources {
namespace {

TEST(Diagnostic, EscapesControlCharactersInValues) {
  EXPECT_EQ(quoteValue("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(quoteValue(std::string("\r\t\0\x7f", 4)), "\"\\r\\t\\x00\\x7f\"");
  EXPECT_EQ(quoteValue("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
  EXPECT_EQ(escapeValue("plain"), "plain");
}

TEST(Diagnostic, CutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(quoteValue(std::string(1000, 'x')), "\"" + std::string(kMaxEchoedChars, 'x') + "...\"");
  // "é" is two bytes; a cut inside it moves back to before it.
  const std::string accented = std::string(kMaxEchoedChars - 1, 'x') + "\xc3\xa9" + "tail";
  EXPECT_EQ(escapeValue(accented), std::string(kMaxEchoedChars - 1, 'x') + "...");
}

TEST(Diagnostic, ToStringIsOneLineWhateverTheMessageHolds) {
  Diagnostic d{Mark{std::make_shared<const std::string>("a\nb.yaml"), 3, 4}, "spec.x\ny",
               "bad\nforged.yaml:1:1: spec: injected"};
  EXPECT_EQ(d.toString(), "a\\nb.yaml:3:4: spec.x\\ny: bad\\nforged.yaml:1:1: spec: injected");
}

TEST(Diagnostic, PrintsAtMostAHundredThenCountsTheRest) {
  Diagnostics many;
  auto file = std::make_shared<const std::string>("f.yaml");
  for (int i = 0; i < 250; ++i) many.push_back(Diagnostic{Mark{file, i + 1, 1}, "", "bad"});
  std::vector<std::string> lines = diagnosticLines(many, 7);
  ASSERT_EQ(lines.size(), kMaxPrintedDiagnostics + 1);
  EXPECT_EQ(lines.front(), "f.yaml:1:1: bad");
  EXPECT_EQ(lines.back(), "and 157 more error(s)");
  EXPECT_EQ(diagnosticLines(Diagnostics(many.begin(), many.begin() + 3)).size(), 3u);
}

TEST(Diagnostic, NewlinesInValuesDoNotForgeLines) {
  const std::string yaml = std::string(testing::kMinimalHosts) +
                           "  \"extra\\nforged.yaml:1:1: spec: looks real\": 1\n"
                           "  transport: \"ssh\\nforged.yaml:2:2: spec: looks real\"\n";
  LoadOutcome o = testing::loadText(yaml);
  ASSERT_FALSE(o.ok());
  const std::regex location(R"(^[^:\n]+:\d+:\d+: )");
  size_t located = 0;
  for (const std::string& line : o.errorLines()) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_TRUE(line.starts_with("test.yaml:")) << line;
    std::string joined = line;
    for (std::sregex_iterator it(joined.begin(), joined.end(), location), end; it != end; ++it) {
      ++located;
    }
  }
  EXPECT_EQ(located, o.errors.size()) << testing::joinErrors(o);
  EXPECT_NE(testing::joinErrors(o).find("\\nforged.yaml:1:1"), std::string::npos)
      << testing::joinErrors(o);
}

}  // namespace
}  // namespace kthw::resources
