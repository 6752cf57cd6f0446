#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace kthw::runtime {

// Where `render --out-dir` puts a host's file: root/host/target, normalised. InvalidArgument when
// that is not strictly beneath root/host (a relative target, or ".." in the host or the target).
StatusOr<std::filesystem::path> pathBeneath(const std::filesystem::path& root,
                                            const std::string& host, const std::string& target);

// Writes `content` at pathBeneath(root, host, target) with `mode`, 0600 until the last byte is
// written. Refused: a final path inside a git work tree, a directory on the way that resolves
// (through a symlink) outside root, and a file that is a symlink. `root` must be absolute and
// canonical.
Status writeFileBeneath(const std::filesystem::path& root, const std::string& host,
                        const std::string& target, const std::string& content, unsigned mode);

}  // namespace kthw::runtime
