#pragma once

#include <string>
#include <string_view>

#include "reconcilers/plan.h"
#include "runtime/host_probe.h"

namespace kthw::reconcilers {

// Why the host's file at spec.path must be written to hold content of `sha256` with spec's
// owner, group and mode: "absent", `differs` (the content is not that), or "owner or mode
// OWNER:GROUP MODE" (as the host has them). Empty when the file already is as wanted.
std::string fileDrift(const runtime::FileState& st, const runtime::FileSpec& spec,
                      const std::string& sha256, std::string_view differs = "content differs");

// The one file sync of the host-scoped reconcilers: a write of `content` to `spec` when the
// host's file drifts (fileDrift), guarded by the content the host had (a concurrent edit is not
// overwritten blindly), with a content diff for people when `showDiff` and the host's file had
// other content. Returns whether a write was planned.
bool syncFile(const std::string& resource, const runtime::FileSpec& spec,
              const std::string& content, const runtime::ProbeResult& observed, HostPlan& plan,
              std::string_view differs = "content differs", bool showDiff = true);

}  // namespace kthw::reconcilers
