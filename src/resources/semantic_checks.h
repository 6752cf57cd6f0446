#pragma once

#include "resources/desired_state.h"

namespace kthw::resources {

// Cross-document checks the schemas cannot express: references, selectors, substitutions,
// addresses and CIDRs after substitution, conflicting file paths, secret modes. A reference to a
// resource the state lacks is reported with Diagnostic::missing set, for the caller to drop when
// a document that failed to load may have declared it. Names are unique in `state` already.
void checkDesiredState(const DesiredState& state, Diagnostics& out);

}  // namespace kthw::resources
