#pragma once

#include <vector>

namespace kthw::resources {

struct EmbeddedSchema {
  const char* fileName;
  const char* text;
};

// The CRDs of crds/ and the built-in schemas, compiled in (see cmake/embed_schemas.cmake).
const std::vector<EmbeddedSchema>& embeddedSchemas();

}  // namespace kthw::resources
