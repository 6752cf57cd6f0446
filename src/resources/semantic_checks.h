#pragma once

#include <set>
#include <string>
#include <utility>

#include "resources/desired_state.h"

namespace kthw::resources {

// (kind, name) of documents that failed schema validation: references to them are not reported
// again as dangling.
using KnownNames = std::set<std::pair<std::string, std::string>>;

// Cross-document checks the schemas cannot express: unique names, references, selectors,
// substitutions, addresses and CIDRs after substitution, conflicting file paths, secret modes.
void checkDesiredState(const DesiredState& state, const KnownNames& invalid, Diagnostics& out);

}  // namespace kthw::resources
