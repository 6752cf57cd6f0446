// Private: the probe script pieces that host_probe*.cpp share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/host_probe.h"

namespace kthw::runtime::probe_internal {

// The probe output's first line; parseProbeOutput checks it.
inline constexpr std::string_view kHeader = "KTHW-PROBE 1";

// Prints "C\tPATH" and the content of PATH, each line prefixed "c\t", when PATH is a file whose
// sha256 is not `sha256`.
std::string contentScript(const std::string& path, const std::string& sha256);
// Whether a flag check's binary is among the paths (fileRecords checks it).
bool amongPaths(const ProbeRequest& r, const std::string& path);

// The file records, with the contents, blocks, listeners and flags found beside them (see
// host_probe_cached.cpp).
std::string fileRecords(const ProbeRequest& r);
// The listener of each asked port, when no paths are asked (see host_probe_cached.cpp).
std::string portRecords(const ProbeRequest& r);

}  // namespace kthw::runtime::probe_internal
