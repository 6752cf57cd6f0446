#pragma once

#include <string>

#include "resources/types.h"
#include "resources/yaml_node.h"

namespace kthw::resources {

// A native rbac.authorization.k8s.io/v1 ClusterRole or ClusterRoleBinding, kept as the validated
// document so that it reaches the API server as written.
struct RbacObject {
  std::string kind;  // ClusterRole or ClusterRoleBinding
  ObjectMeta metadata;
  Node document;
  std::string roleRefName;  // bindings only
  Mark roleRefMark;

  const std::string& name() const { return metadata.name; }
};

}  // namespace kthw::resources
