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

// Documents the loader could not read. A YAML error stops its file: the document it is in and
// every later one of that file are lost. A file that cannot be read is lost whole. What they
// declare is unknown, so a reference to a resource of one of their kinds that the state lacks
// may follow from this error alone.
struct UnreadDocuments {
  Mark at;                         // the error that stopped reading
  std::vector<std::string> kinds;  // what their `kind:` lines say
  bool unknownKinds = false;       // one of them has no `kind:` line kthw could find
};

struct LoadResult {
  std::vector<Document> documents;
  Diagnostics errors;
  size_t omittedErrors = 0;  // found past LoadLimits::maxRecordedErrors: counted, not kept
  std::vector<UnreadDocuments> unread;
};

// Parses one buffer of multi-document YAML. Empty documents are skipped. Aliases, unknown tags,
// non-scalar keys and duplicate keys are errors. A top-level key that repeats hints at a missing
// "---"; when every run of keys up to a repeat has its own apiVersion and kind, documents were
// joined without one, and each run is read as a document of its own.
LoadResult parseYaml(std::string_view text, const std::string& fileName,
                     const LoadLimits& limits = {});

// Loads every *.yaml / *.yml below each directory (sorted, recursive), each named file, and
// standard input for "-". Errors of one file do not stop the others from loading.
LoadResult loadPaths(const std::vector<std::string>& paths, std::istream& standardInput,
                     const LoadLimits& limits = {});

}  // namespace kthw::resources
