#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "resources/schema.h"

namespace kthw::resources {

struct KindSchema {
  std::string group;
  std::string version;
  std::string kind;
  std::shared_ptr<Schema> schema;

  std::string apiVersion() const { return group + "/" + version; }
};

// Every kind kthw accepts, read from CRD documents.
class SchemaRegistry {
 public:
  // The compiled-in CRDs; parsed once per process.
  static const SchemaRegistry& builtin();
  // From CRD texts (file name, YAML); used by tests and by builtin().
  static StatusOr<SchemaRegistry> fromCrdTexts(
      const std::vector<std::pair<std::string, std::string>>& texts);

  const KindSchema* find(std::string_view apiVersion, std::string_view kind) const;
  // Any version of the kind, to explain a wrong apiVersion.
  const KindSchema* findKind(std::string_view kind) const;
  // The metadata schema of kthw kinds (names are DNS subdomains).
  const Schema& objectMeta() const { return *objectMeta_; }
  const std::vector<KindSchema>& kinds() const { return kinds_; }

 private:
  std::vector<KindSchema> kinds_;
  std::shared_ptr<Schema> objectMeta_;
};

}  // namespace kthw::resources
