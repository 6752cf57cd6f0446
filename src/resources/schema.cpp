#include "resources/schema.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "resources/formats.h"

namespace kthw::resources {
namespace {

// Longest string a pattern is matched against: std::regex recurses per character.
constexpr size_t kMaxPatternInput = 4096;

// The keys of every map (labels, selectors, flags, environment, sysctls): identifiers, so that
// no key can carry text into a generated line. Structural schemas cannot declare a pattern for
// keys without CEL, so this one rule holds for all of them.
const std::regex kMapKey("^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$");
constexpr size_t kMaxMapKey = 253;

std::string controlCharacterProblem(std::string_view text, size_t at) {
  char code[8];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned char>(text[at]));
  return std::string("contains the control character ") + code + " at offset " +
         std::to_string(at) + "; only multi-line content (format: multiline) may hold line breaks";
}

void resetMarks(Node& n, const Mark& mark) {
  n.mark = mark;
  for (Node& item : n.items) resetMarks(item, mark);
  for (MapEntry& e : n.entries) {
    e.keyMark = mark;
    resetMarks(e.value, mark);
  }
}

std::string childPath(const std::string& path, std::string_view key) {
  return appendFieldPath(path, key);
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(const Schema& schema, std::string_view key) {
  if (key.size() > 64) return "";
  std::string best;
  size_t bestDistance = 3;
  for (const auto& [name, unused] : schema.properties) {
    const size_t d = editDistance(key, name);
    if (d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  return best.empty() ? "" : "; did you mean " + quoteValue(best) + "?";
}

std::string typeName(Schema::Type t) {
  switch (t) {
    case Schema::Type::kObject:
      return "an object";
    case Schema::Type::kArray:
      return "a list";
    case Schema::Type::kString:
      return "a string";
    case Schema::Type::kInteger:
      return "an integer";
    case Schema::Type::kNumber:
      return "a number";
    case Schema::Type::kBoolean:
      return "a boolean";
    case Schema::Type::kUnset:
      return "a value";
  }
  return "a value";
}

std::string shorten(const std::string& text) { return escapeValue(text, 40); }

std::string describe(const Node& n) {
  switch (n.type) {
    case NodeType::kNull:
      return "null";
    case NodeType::kSequence:
      return "a list";
    case NodeType::kMapping:
      return "an object";
    case NodeType::kScalar:
      break;
  }
  return std::string(scalarKindName(n.scalarKind())) + " " + shorten(n.scalar);
}

bool isYaml11Boolean(const Node& n) {
  if (!n.plain || n.type != NodeType::kScalar) return false;
  std::string lower = n.scalar;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" ||
         lower == "n";
}

class Validator {
 public:
  explicit Validator(Diagnostics& out) : out_(out) {}

  void validate(const Schema& s, Node& v, const std::string& path) {
    if (v.erroneous) return;  // the loader has reported it
    if (v.isNull()) {
      if (s.nullable || s.preserveUnknownFields) return;
      if (s.type == Schema::Type::kUnset && !s.intOrString) return;
      fail(v, path, "must be " + expected(s) + ", got null");
      return;
    }
    if (s.intOrString) {
      const ScalarKind k = v.scalarKind();
      if (!v.isScalar() || (k != ScalarKind::kInt && k != ScalarKind::kString)) {
        fail(v, path, "must be an integer or a string, got " + describe(v));
      } else if (k == ScalarKind::kString) {
        text(s, v, path);
      }
      return;
    }
    switch (s.type) {
      case Schema::Type::kObject:
        return object(s, v, path);
      case Schema::Type::kArray:
        return array(s, v, path);
      case Schema::Type::kString:
        return string(s, v, path);
      case Schema::Type::kInteger:
        return integer(s, v, path);
      case Schema::Type::kNumber:
        return number(s, v, path);
      case Schema::Type::kBoolean:
        if (v.scalarKind() != ScalarKind::kBool || !v.isScalar()) {
          fail(v, path, "must be a boolean (true or false), got " + describe(v));
        }
        return;
      case Schema::Type::kUnset:
        return;
    }
  }

 private:
  static std::string expected(const Schema& s) { return typeName(s.type); }

  void fail(const Node& at, const std::string& path, std::string message) {
    out_.push_back(Diagnostic{at.mark, path, std::move(message)});
  }

  void object(const Schema& s, Node& v, const std::string& path) {
    if (!v.isMapping()) {
      fail(v, path, "must be an object, got " + describe(v));
      return;
    }
    if (s.minProperties && v.entries.size() < *s.minProperties) {
      fail(v, path, "must have at least " + std::to_string(*s.minProperties) + " field(s)");
    }
    if (s.maxProperties && v.entries.size() > *s.maxProperties) {
      fail(v, path,
           "must have at most " + std::to_string(*s.maxProperties) + " field(s), got " +
               std::to_string(v.entries.size()));
    }
    for (MapEntry& e : v.entries) {
      const std::string p = childPath(path, e.key);
      if (const Schema* child = s.property(e.key)) {
        validate(*child, e.value, p);
      } else if (s.additionalProperties) {
        if (e.key.size() > kMaxMapKey || !std::regex_match(e.key, kMapKey)) {
          out_.push_back(Diagnostic{e.keyMark, childPath(path, shorten(e.key)),
                                    "key \"" + shorten(e.key) +
                                        "\" is not an identifier (letters, digits and -_./ "
                                        "inside, at most 253 characters)"});
          continue;
        }
        validate(*s.additionalProperties, e.value, p);
      } else if (!s.preserveUnknownFields) {
        out_.push_back(Diagnostic{e.keyMark, childPath(path, escapeValue(e.key, 40)),
                                  "unknown field " + quoteValue(e.key) + suggestion(s, e.key)});
      }
    }
    for (const auto& [name, child] : s.properties) {
      if (v.find(name) != nullptr) continue;
      if (child->defaultValue) {
        Node d = *child->defaultValue;
        resetMarks(d, v.mark);
        v.entries.push_back(MapEntry{name, v.mark, std::move(d)});
        validate(*child, v.entries.back().value, childPath(path, name));
      } else if (std::find(s.required.begin(), s.required.end(), name) != s.required.end()) {
        fail(v, childPath(path, name), "required field is missing");
      }
    }
  }

  void array(const Schema& s, Node& v, const std::string& path) {
    if (!v.isSequence()) {
      fail(v, path, "must be a list, got " + describe(v));
      return;
    }
    if (s.minItems && v.items.size() < *s.minItems) {
      fail(v, path, "must have at least " + std::to_string(*s.minItems) + " item(s)");
    }
    if (s.maxItems && v.items.size() > *s.maxItems) {
      fail(v, path, "must have at most " + std::to_string(*s.maxItems) + " item(s)");
    }
    if (!s.items) return;
    for (size_t i = 0; i < v.items.size(); ++i) {
      validate(*s.items, v.items[i], path + "[" + std::to_string(i) + "]");
    }
  }

  void string(const Schema& s, Node& v, const std::string& path) {
    if (!v.isScalar() || v.scalarKind() != ScalarKind::kString) {
      std::string hint;
      if (v.isScalar()) hint = " (quote it: " + quoteValue(v.scalar) + ")";
      fail(v, path, "must be a string, got " + describe(v) + hint);
      return;
    }
    if (isYaml11Boolean(v)) {
      fail(v, path, quoteValue(v.scalar) + " reads as a boolean in YAML 1.1 (kubectl); quote it");
      return;
    }
    text(s, v, path);
  }

  // The checks every string value passes, also an int-or-string that is a string. Formats come
  // before patterns: a CRD pairs a kthw format with a pattern only so that an API server, which
  // ignores kthw's formats, enforces the same rule, and the format's message is the clearer one.
  void text(const Schema& s, const Node& v, const std::string& path) {
    const std::string& text = v.scalar;
    if (auto at = firstControlCharacter(text, s.format == "multiline")) {
      fail(v, path, controlCharacterProblem(text, *at));
      return;
    }
    if (s.minLength && text.size() < *s.minLength) {
      fail(v, path, "must be at least " + std::to_string(*s.minLength) + " character(s) long");
      return;
    }
    if (s.maxLength && text.size() > *s.maxLength) {
      fail(v, path, "must be at most " + std::to_string(*s.maxLength) + " characters long");
      return;
    }
    if (!s.enumValues.empty() &&
        std::find(s.enumValues.begin(), s.enumValues.end(), text) == s.enumValues.end()) {
      std::string allowed;
      for (const std::string& e : s.enumValues) allowed += (allowed.empty() ? "" : ", ") + e;
      fail(v, path, "must be one of: " + allowed + "; got " + quoteValue(text));
      return;
    }
    if (!s.format.empty()) {
      std::string problem = checkFormat(s.format, text);
      if (!problem.empty()) {
        fail(v, path, problem + ", got " + quoteValue(text));
        return;
      }
    }
    if (s.compiledPattern) {
      if (text.size() > kMaxPatternInput || !std::regex_search(text, *s.compiledPattern)) {
        fail(v, path, quoteValue(text) + " does not match " + s.pattern);
      }
    }
  }

  void integer(const Schema& s, Node& v, const std::string& path) {
    auto value = v.isScalar() ? v.integer() : std::nullopt;
    if (!value && v.scalarKind() == ScalarKind::kInt && v.isScalar()) {
      fail(v, path, shorten(v.scalar) + " is out of range");
      return;
    }
    if (!value) {
      fail(v, path, "must be an integer, got " + describe(v));
      return;
    }
    range(s, v, path, *value);
  }

  void number(const Schema& s, Node& v, const std::string& path) {
    const ScalarKind k = v.scalarKind();
    if (!v.isScalar() || (k != ScalarKind::kInt && k != ScalarKind::kFloat)) {
      fail(v, path, "must be a number, got " + describe(v));
      return;
    }
    if (auto value = v.integer()) range(s, v, path, *value);
  }

  void range(const Schema& s, const Node& v, const std::string& path, int64_t value) {
    if (s.minimum && value < *s.minimum) {
      fail(v, path,
           "must be at least " + std::to_string(*s.minimum) + ", got " + shorten(v.scalar));
    } else if (s.maximum && value > *s.maximum) {
      fail(v, path, "must be at most " + std::to_string(*s.maximum) + ", got " + shorten(v.scalar));
    }
  }

  Diagnostics& out_;
};

}  // namespace

void validateAndDefault(const Schema& schema, Node& value, const std::string& path,
                        Diagnostics& out) {
  Validator(out).validate(schema, value, path);
}

}  // namespace kthw::resources
