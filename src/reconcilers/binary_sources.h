#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "resources/desired_state.h"
#include "runtime/exec_input.h"

namespace kthw::reconcilers {

// Where a service's binary comes from: its sha256 and, when kthw has a copy to install (a local
// file, or a download in the binary cache), that file. The bytes are streamed to hosts from it and
// never held in memory. `local.path` stays empty for a binary the host already has (a
// distribution package, spec.binary with only a path) or one `diff` has not downloaded.
struct BinarySource {
  std::string sha256;
  runtime::LocalFile local;
};

// Hashes each service's local binary file (a relative path is relative to the document that
// names it) and checks it against spec.binary.sha256 when pinned. URLs are fetched by
// fetchBinaries.
StatusOr<std::map<std::string, BinarySource>> loadBinaries(const resources::DesiredState& state);

// For services whose binary comes from a URL: the sha256 it must have (pinned, or read from
// sha256URL) and, with `download`, a verified copy in `cacheDir` — fetched over HTTPS
// (redirects followed) when none is there, and checked before anything can be pushed.
// Without `download` (diff) only the sha256 is determined; nothing is written.
Status fetchBinaries(const resources::DesiredState& state, const std::string& cacheDir,
                     bool download, std::map<std::string, BinarySource>& binaries);

// $XDG_CACHE_HOME/kthw/binaries, or ~/.cache/kthw/binaries.
std::string defaultBinaryCacheDir();

}  // namespace kthw::reconcilers
