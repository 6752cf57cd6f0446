#pragma once
// systemd's reading of unit file values, for tests and the fuzzer (no test framework): "%%" is
// "%" (systemd.unit(5) "SPECIFIERS"), and a command line splits into words on whitespace outside
// quotes, with C escapes resolved and, in ExecStart=, "$$" as "$" (systemd.service(5) "COMMAND
// LINES"). What systemd would read differently from a literal — a lone "%" or "$", an unknown
// escape, an unterminated quote — is reported in `error` (the first one found).
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kthw::reconcilers::testing {

// `v` with "%%" resolved; nullopt when it holds a lone "%" (a specifier systemd would expand).
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

struct SplitWords {
  std::vector<std::string> words;
  std::string error;  // empty when systemd reads the line as these literal words
};

// Splits a command line into words (after "%%" was resolved). `dollars` resolves "$$" as an
// ExecStart= line does; Environment= lines leave "$" alone.
inline SplitWords splitCommandLine(const std::string& line, bool dollars) {
  SplitWords out;
  auto fail = [&](const std::string& message) {
    if (out.error.empty()) out.error = message + " in " + line;
  };
  std::string word;
  bool inWord = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == 0 && (c == ' ' || c == '\t')) {
      if (inWord) out.words.push_back(word);
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
      if (it == kEscapes.end()) fail(std::string("escape \\") + n);
      word += it == kEscapes.end() ? n : it->second;
    } else if (c == '$' && dollars) {
      if (i + 1 < line.size() && line[i + 1] == '$') {
        word += '$';
        ++i;
      } else {
        fail("a variable reference");
      }
    } else {
      word += c;
    }
  }
  if (quote != 0) fail("unterminated quote");
  if (inWord) out.words.push_back(word);
  return out;
}

}  // namespace kthw::reconcilers::testing
