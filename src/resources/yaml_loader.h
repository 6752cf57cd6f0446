#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/yaml_node.h"

namespace kthw::resources {

// Bounds that keep any input, hostile or broken, from costing unbounded time or memory.
struct LoadLimits {
  size_t maxFileBytes = 8u << 20;
  size_t maxTotalBytes = 64u << 20;
  size_t maxFiles = 10000;
  size_t maxDocuments = 10000;
  size_t maxNodes = 1000000;  // per file
  int maxDepth = 64;
  // Errors kept with their text; past this many they are only counted (a hostile file can hold
  // millions of duplicate keys or aliases, and only the first kMaxPrintedDiagnostics are shown).
  size_t maxRecordedErrors = 1000;
};

struct Document {
  Node root;
  Mark mark;  // where the document starts
};

struct LoadResult {
  std::vector<Document> documents;
  Diagnostics errors;
  size_t omittedErrors = 0;  // found past LoadLimits::maxRecordedErrors: counted, not kept
};

// Parses one buffer of multi-document YAML. Empty documents are skipped. Aliases, unknown tags,
// non-scalar keys and duplicate keys are errors.
LoadResult parseYaml(std::string_view text, const std::string& fileName,
                     const LoadLimits& limits = {});

// Loads every *.yaml / *.yml below each directory (sorted, recursive), each named file, and
// standard input for "-". Errors of one file do not stop the others from loading.
LoadResult loadPaths(const std::vector<std::string>& paths, std::istream& standardInput,
                     const LoadLimits& limits = {});

}  // namespace kthw::resources
