#pragma once

#include <string>
#include <string_view>

#include "runtime/binary_flags.h"

namespace kthw::runtime {

// For the probe's file awk (host_probe.cpp), which checks flags of binaries among the probed
// paths itself: the file on the host that caches `binary`'s flag list (see kFlagCache), and a
// standalone script that prints the FV and FX lines of one check as flagProbeScript does, run
// for a binary whose cached list cannot be used.
// What a cached flag list's first line starts with, before the binary's stat key
// (device:inode:size:mtime:ctime): a list in any other format is not read, and made again.
inline constexpr std::string_view kFlagListFormat = "f2:";

std::string flagCacheFile(const std::string& binary, const std::string& cacheDir = kFlagCache);
std::string flagCheckScript(const FlagCheck& check, bool keepCache,
                            const std::string& cacheDir = kFlagCache);

}  // namespace kthw::runtime
