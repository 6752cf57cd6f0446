#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "reconcilers/binary_source.h"
#include "resources/desired_state.h"

namespace kthw::engine {

using reconcilers::BinarySource;

// Hashes each service's local binary file (a relative path is relative to the document that
// names it) and checks it against spec.binary.sha256 when pinned. URLs are fetched by
// fetchBinaries.
StatusOr<std::map<std::string, reconcilers::BinarySource>> loadBinaries(
    const resources::DesiredState& state);

// For services whose binary comes from a URL: the sha256 it must have (pinned, or read from
// sha256URL) and, with `download`, a verified copy in `cacheDir` — fetched over HTTPS
// (redirects followed) when none is there, and checked before anything can be pushed.
// Without `download` (diff) only the sha256 is determined; nothing is written.
Status fetchBinaries(const resources::DesiredState& state, const std::string& cacheDir,
                     bool download, std::map<std::string, reconcilers::BinarySource>& binaries);

// $XDG_CACHE_HOME/kthw/binaries, or ~/.cache/kthw/binaries.
std::string defaultBinaryCacheDir();

}  // namespace kthw::engine
