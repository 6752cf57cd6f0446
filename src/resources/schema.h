#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "resources/diagnostic.h"
#include "resources/yaml_node.h"

namespace kthw::resources {

// A structural OpenAPI v3 schema, as a CustomResourceDefinition declares it. Only the keywords
// that structural schemas allow are understood; any other keyword in a CRD is an error, so a
// schema cannot silently promise a check that the validator does not make.
struct Schema {
  enum class Type { kUnset, kObject, kArray, kString, kInteger, kNumber, kBoolean };

  Type type = Type::kUnset;
  std::string description;
  std::vector<std::pair<std::string, std::shared_ptr<Schema>>> properties;
  std::vector<std::string> required;
  std::shared_ptr<Schema> additionalProperties;
  std::shared_ptr<Schema> items;
  std::vector<std::string> enumValues;
  std::string pattern;
  std::shared_ptr<const std::regex> compiledPattern;
  std::string format;
  std::optional<int64_t> minimum, maximum;
  std::optional<size_t> minLength, maxLength, minItems, maxItems, minProperties, maxProperties;
  bool nullable = false;
  bool intOrString = false;
  bool preserveUnknownFields = false;
  std::optional<Node> defaultValue;

  const Schema* property(std::string_view name) const;
};

// Parses an openAPIV3Schema node; errors name the schema file and position.
StatusOr<std::shared_ptr<Schema>> parseSchema(const Node& node);

// Validates `value` against `schema` in place: missing fields that have a default get it
// (as the API server does). Every problem is appended to `out`.
//
// Beyond the keywords, two rules hold for every document, so that no value can change the
// meaning of what kthw generates from it:
//  - no string holds a control character (U+0000-U+001F, U+007F), except that a string whose
//    schema says `format: multiline` (file content) may hold line feeds and tabs;
//  - every key of a map (additionalProperties) is an identifier: letters and digits, with
//    '-', '_', '.' and '/' inside.
void validateAndDefault(const Schema& schema, Node& value, const std::string& path,
                        Diagnostics& out);

}  // namespace kthw::resources
