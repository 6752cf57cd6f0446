#pragma once

// The parser of yaml_loader.cpp, for yaml_files.cpp to read each file with; private to the two.

#include <string>
#include <string_view>

#include "resources/yaml_loader.h"

namespace kthw::resources {

// parseYaml's work, appended to `result`: its documents, errors and what could not be read.
void parseInto(std::string_view text, const std::string& fileName, const LoadLimits& limits,
               LoadResult& result);

}  // namespace kthw::resources
