#pragma once

#include <string>

#include "resources/yaml_node.h"

namespace kthw::resources {

// The node as JSON: plain scalars that resolve to numbers, booleans or null become those,
// everything else a string; mapping order is kept.
std::string toJson(const Node& node);

}  // namespace kthw::resources
