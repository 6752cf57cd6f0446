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
  // The version objects are sent and kept as (the CRD's storage version). A document of
  // another served version is converted by rewriting its apiVersion: kthw serves older
  // versions only where the fields are the same (conversion strategy None).
  std::string storageVersion;
  std::string deprecationWarning;  // empty unless the version is deprecated

  std::string apiVersion() const { return group + "/" + version; }
  std::string storageApiVersion() const { return group + "/" + storageVersion; }
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
  // The storage version of the kind, to explain a wrong apiVersion.
  const KindSchema* findKind(std::string_view kind) const;
  // The metadata schema of kthw kinds (names are DNS subdomains).
  const Schema& objectMeta() const { return *objectMeta_; }
  const std::vector<KindSchema>& kinds() const { return kinds_; }

 private:
  std::vector<KindSchema> kinds_;
  std::shared_ptr<Schema> objectMeta_;
};

}  // namespace kthw::resources
