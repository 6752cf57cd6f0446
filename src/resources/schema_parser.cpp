// Reads a CRD's openAPIV3Schema into a Schema; schema.cpp validates documents against it.
#include <set>

#include "resources/schema.h"

namespace kthw::resources {
namespace {

const std::set<std::string, std::less<>> kKnownKeywords = {"type",
                                                           "description",
                                                           "properties",
                                                           "required",
                                                           "additionalProperties",
                                                           "items",
                                                           "enum",
                                                           "pattern",
                                                           "format",
                                                           "minimum",
                                                           "maximum",
                                                           "minLength",
                                                           "maxLength",
                                                           "minItems",
                                                           "maxItems",
                                                           "minProperties",
                                                           "maxProperties",
                                                           "nullable",
                                                           "default",
                                                           "x-kubernetes-int-or-string",
                                                           "x-kubernetes-preserve-unknown-fields"};

Status schemaError(const Node& at, const std::string& message) {
  return invalidArgument(Diagnostic{at.mark, "", "schema: " + message}.toString());
}

StatusOr<Schema::Type> parseType(const Node& n) {
  static const std::pair<std::string_view, Schema::Type> kTypes[] = {
      {"object", Schema::Type::kObject}, {"array", Schema::Type::kArray},
      {"string", Schema::Type::kString}, {"integer", Schema::Type::kInteger},
      {"number", Schema::Type::kNumber}, {"boolean", Schema::Type::kBoolean}};
  for (const auto& [name, type] : kTypes) {
    if (n.scalar == name) return type;
  }
  return schemaError(n, "unknown type " + n.scalar);
}

std::optional<size_t> sizeOf(const Node* n) {
  if (n == nullptr) return std::nullopt;
  auto v = n->integer();
  if (!v || *v < 0) return std::nullopt;
  return static_cast<size_t>(*v);
}

}  // namespace

const Schema* Schema::property(std::string_view name) const {
  for (const auto& [key, child] : properties) {
    if (key == name) return child.get();
  }
  return nullptr;
}

StatusOr<std::shared_ptr<Schema>> parseSchema(const Node& node) {
  if (!node.isMapping()) return schemaError(node, "a schema must be an object");
  auto s = std::make_shared<Schema>();
  for (const MapEntry& e : node.entries) {
    if (kKnownKeywords.find(e.key) == kKnownKeywords.end()) {
      return schemaError(e.value, "unsupported keyword " + e.key);
    }
  }
  if (const Node* t = node.find("type")) {
    auto type = parseType(*t);
    if (!type.ok()) return type.status();
    s->type = *type;
  }
  s->description = node.str("description");
  if (const Node* props = node.find("properties")) {
    for (const MapEntry& e : props->entries) {
      auto child = parseSchema(e.value);
      if (!child.ok()) return child.status();
      s->properties.emplace_back(e.key, std::move(*child));
    }
  }
  if (const Node* req = node.find("required")) {
    for (const Node& r : req->items) s->required.push_back(r.scalar);
  }
  if (const Node* ap = node.find("additionalProperties")) {
    auto child = parseSchema(*ap);
    if (!child.ok()) return child.status();
    s->additionalProperties = std::move(*child);
  }
  if (const Node* items = node.find("items")) {
    auto child = parseSchema(*items);
    if (!child.ok()) return child.status();
    s->items = std::move(*child);
  }
  if (const Node* en = node.find("enum")) {
    for (const Node& v : en->items) s->enumValues.push_back(v.scalar);
  }
  s->pattern = node.str("pattern");
  if (!s->pattern.empty()) {
    try {
      s->compiledPattern = std::make_shared<const std::regex>(s->pattern);
    } catch (const std::regex_error& err) {
      return schemaError(*node.find("pattern"), "bad pattern: " + std::string(err.what()));
    }
  }
  s->format = node.str("format");
  if (const Node* n = node.find("minimum")) s->minimum = n->integer();
  if (const Node* n = node.find("maximum")) s->maximum = n->integer();
  s->minLength = sizeOf(node.find("minLength"));
  s->maxLength = sizeOf(node.find("maxLength"));
  s->minItems = sizeOf(node.find("minItems"));
  s->maxItems = sizeOf(node.find("maxItems"));
  s->minProperties = sizeOf(node.find("minProperties"));
  s->maxProperties = sizeOf(node.find("maxProperties"));
  if (const Node* n = node.find("nullable")) s->nullable = n->boolean();
  if (const Node* n = node.find("x-kubernetes-int-or-string")) s->intOrString = n->boolean();
  if (const Node* n = node.find("x-kubernetes-preserve-unknown-fields")) {
    s->preserveUnknownFields = n->boolean();
  }
  if (const Node* n = node.find("default")) s->defaultValue = *n;
  if (s->type == Schema::Type::kUnset && !s->intOrString && !s->preserveUnknownFields) {
    return schemaError(node, "structural schemas need a type");
  }
  return s;
}

}  // namespace kthw::resources
