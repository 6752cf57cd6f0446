#pragma once

#include <string_view>

namespace kthw::runtime {

enum class Verbosity { kQuiet, kNormal, kVerbose, kDebug };

// Configures the process logger: messages go to stderr, so that stdout carries only the
// command's output (plans, JSON).
void initLogging(Verbosity verbosity);

}  // namespace kthw::runtime
