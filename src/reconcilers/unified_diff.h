#pragma once

#include <string>

namespace kthw::reconcilers {

// A unified diff (3 lines of context) from `before` to `after`, with ---/+++ headers naming
// `label`. Inputs past a few thousand lines get a one-line summary instead.
std::string unifiedDiff(const std::string& before, const std::string& after,
                        const std::string& label);

}  // namespace kthw::reconcilers
