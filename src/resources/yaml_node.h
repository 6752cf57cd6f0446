#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resources/diagnostic.h"

namespace kthw::resources {

enum class NodeType { kNull, kScalar, kSequence, kMapping };

// What a scalar means under the YAML 1.2 core schema. Quoted and block scalars are always
// strings; plain ones resolve to null, bool, int or float when they look like one.
enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };

struct MapEntry;

// A position-tracked YAML value. Mappings keep their document order, which matters for
// things like flag order in a rendered unit.
struct Node {
  NodeType type = NodeType::kNull;
  Mark mark;
  std::string scalar;      // the text of a scalar
  std::string raw;         // a scalar as written in the file (quotes, escapes, block indicator)
  bool plain = true;       // a plain (unquoted, non-block) scalar
  bool erroneous = false;  // replaced a value the loader refused; already reported
  std::vector<Node> items;
  std::vector<MapEntry> entries;

  bool isNull() const { return type == NodeType::kNull; }
  bool isScalar() const { return type == NodeType::kScalar; }
  bool isSequence() const { return type == NodeType::kSequence; }
  bool isMapping() const { return type == NodeType::kMapping; }

  ScalarKind scalarKind() const;
  // The mapping value under `key`, or nullptr.
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  // Convenience accessors for validated trees.
  std::string str(std::string_view key, std::string_view fallback = "") const;
  std::optional<int64_t> integer() const;
  bool boolean() const;
};

struct MapEntry {
  std::string key;
  Mark keyMark;
  Node value;
};

std::string_view scalarKindName(ScalarKind kind);

}  // namespace kthw::resources
