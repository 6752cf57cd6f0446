#pragma once
// A reader of unit files for tests, following systemd.syntax(7) and systemd.service(5)
// "COMMAND LINES": lines ending in a backslash continue, "%%" is "%", words are split on
// whitespace outside quotes, C escapes are resolved, and in a command line "$$" is "$".
// A lone "%" or "$" (a specifier or a variable) makes the reader fail the test.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "../../support/systemd_words.h"

namespace kthw::reconcilers::testing {

struct UnitDirective {
  std::string section;
  std::string key;
  std::string value;  // with "%%" resolved
};

inline std::vector<UnitDirective> parseUnit(const std::string& text) {
  std::vector<UnitDirective> out;
  std::string section;
  std::string logical;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    logical += line;
    std::string l = std::move(logical);
    logical.clear();
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[') {
      section = l;
      continue;
    }
    const size_t eq = l.find('=');
    if (eq == std::string::npos) {
      ADD_FAILURE() << "not a directive: " << l;
      continue;
    }
    auto value = unescapeSpecifiers(l.substr(eq + 1));
    if (!value) ADD_FAILURE() << "unescaped specifier in " << l;
    out.push_back({section, l.substr(0, eq), value.value_or("")});
  }
  return out;
}

// Splits a command line into words (after "%%" was resolved), failing the test where systemd
// would read something other than literal words.
inline std::vector<std::string> splitWords(const std::string& line, bool dollars) {
  SplitWords split = splitCommandLine(line, dollars);
  if (!split.error.empty()) ADD_FAILURE() << split.error;
  return split.words;
}

}  // namespace kthw::reconcilers::testing
