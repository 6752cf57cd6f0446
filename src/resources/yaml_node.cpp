#include "resources/yaml_node.h"

#include <charconv>

namespace kthw::resources {
namespace {

bool isDigits(std::string_view s, std::string_view alphabet) {
  if (s.empty()) return false;
  for (char c : s) {
    if (alphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool looksLikeInt(std::string_view s) {
  if (s.starts_with("0o")) return isDigits(s.substr(2), "01234567");
  if (s.starts_with("0x")) return isDigits(s.substr(2), "0123456789abcdefABCDEF");
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return isDigits(s, "0123456789");
}

bool looksLikeFloat(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN") {
    return true;
  }
  size_t i = 0;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t expDigits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++expDigits;
    if (expDigits == 0) return false;
  }
  return i == s.size();
}

}  // namespace

ScalarKind Node::scalarKind() const {
  if (type == NodeType::kNull) return ScalarKind::kNull;
  if (type != NodeType::kScalar) return ScalarKind::kString;
  if (!plain) return ScalarKind::kString;
  const std::string_view s = scalar;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return ScalarKind::kNull;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    return ScalarKind::kBool;
  }
  if (looksLikeInt(s)) return ScalarKind::kInt;
  if (looksLikeFloat(s)) return ScalarKind::kFloat;
  return ScalarKind::kString;
}

const Node* Node::find(std::string_view key) const {
  for (const MapEntry& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

Node* Node::find(std::string_view key) {
  for (MapEntry& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

std::string Node::str(std::string_view key, std::string_view fallback) const {
  const Node* n = find(key);
  if (n == nullptr || !n->isScalar()) return std::string(fallback);
  return n->scalar;
}

std::optional<int64_t> Node::integer() const {
  if (scalarKind() != ScalarKind::kInt) return std::nullopt;
  std::string_view s = scalar;
  int base = 10;
  if (s.starts_with("0o")) {
    s.remove_prefix(2);
    base = 8;
  } else if (s.starts_with("0x")) {
    s.remove_prefix(2);
    base = 16;
  } else if (s.starts_with("+")) {
    s.remove_prefix(1);
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool Node::boolean() const {
  return scalarKind() == ScalarKind::kBool && (scalar[0] == 't' || scalar[0] == 'T');
}

std::string_view scalarKindName(ScalarKind kind) {
  switch (kind) {
    case ScalarKind::kNull:
      return "null";
    case ScalarKind::kBool:
      return "boolean";
    case ScalarKind::kInt:
      return "integer";
    case ScalarKind::kFloat:
      return "number";
    case ScalarKind::kString:
      return "string";
  }
  return "value";
}

}  // namespace kthw::resources
