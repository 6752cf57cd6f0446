#pragma once

#include <string>

#include "common/status.h"

namespace kthw::runtime {

// Writes `content` to a temp file beside `path` created 0600, fsyncs it and renames it over
// `path` (then fsyncs the directory): readers see the old file or the new one, never a part,
// and the new file is 0600 whatever the old one's mode was.
Status writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace kthw::runtime
