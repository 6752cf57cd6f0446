#pragma once

#include <string>

#include "common/status.h"

namespace kthw::runtime {

// Replaces the local file `path` with `content` atomically: a temporary file beside it, created
// exclusively with `mode` (so the content is never readable more widely, not even for a moment),
// written, fsynced and renamed over `path`, then the directory fsynced. A reader sees the old
// file or the new one, never a part; after a crash, at most a temporary file is left.
Status writeFileAtomically(const std::string& path, const std::string& content, unsigned mode);

// The content of a local file: NotFound when there is none, PermissionDenied when it cannot be
// read, InvalidArgument when it is not a regular file.
StatusOr<std::string> readLocalFile(const std::string& path);

}  // namespace kthw::runtime
