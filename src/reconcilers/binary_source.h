#pragma once

#include <string>

#include "runtime/exec_input.h"

namespace kthw::reconcilers {

// Where a service's binary comes from: its sha256 and, when kthw has a copy to install (a local
// file, or a download in the binary cache), that file. The bytes are streamed to hosts from it and
// never held in memory. `local.path` stays empty for a binary the host already has (a
// distribution package, spec.binary with only a path) or one `diff` has not downloaded.
// The engine fills it (engine/binary_sources.h); reconcilers only read it.
struct BinarySource {
  std::string sha256;
  runtime::LocalFile local;
};

}  // namespace kthw::reconcilers
