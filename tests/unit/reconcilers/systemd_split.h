#pragma once
// A reader of unit files for tests, following systemd.syntax(7) and systemd.service(5)
// "COMMAND LINES": lines ending in a backslash continue, "%%" is "%", words are split on
// whitespace outside quotes, C escapes are resolved, and in a command line "$$" is "$".
// A lone "%" or "$" (a specifier or a variable) makes the reader fail the test.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kthw::reconcilers::testing {

struct UnitDirective {
  std::string section;
  std::string key;
  std::string value;  // with "%%" resolved
};

inline std::optional<std::string> unescapeSpecifiers(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
    } else if (i + 1 < v.size() && v[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

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

// Splits a command line into words (after "%%" was resolved). `dollars` resolves "$$" as an
// ExecStart= line does; Environment= lines leave "$" alone.
inline std::vector<std::string> splitWords(const std::string& line, bool dollars) {
  std::vector<std::string> words;
  std::string word;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == 0 && (c == ' ' || c == '\t')) {
      if (inWord) words.push_back(word);
      word.clear();
      inWord = false;
      continue;
    }
    inWord = true;
    if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (quote != 0 && c == quote) {
      quote = 0;
    } else if (c == '\\' && i + 1 < line.size()) {
      const char n = line[++i];
      static const std::map<char, char> kEscapes = {{'n', '\n'},  {'t', '\t'}, {'r', '\r'},
                                                    {'\\', '\\'}, {'"', '"'},  {'\'', '\''},
                                                    {' ', ' '},   {';', ';'}};
      auto it = kEscapes.find(n);
      if (it == kEscapes.end()) ADD_FAILURE() << "escape \\" << n << " in " << line;
      word += it == kEscapes.end() ? n : it->second;
    } else if (c == '$' && dollars) {
      if (i + 1 < line.size() && line[i + 1] == '$') {
        word += '$';
        ++i;
      } else {
        ADD_FAILURE() << "a variable reference in " << line;
      }
    } else {
      word += c;
    }
  }
  if (quote != 0) ADD_FAILURE() << "unterminated quote in " << line;
  if (inWord) words.push_back(word);
  return words;
}

}  // namespace kthw::reconcilers::testing
