#pragma once

#include <optional>
#include <string>
#include <vector>

#include "resources/desired_state.h"

namespace kthw::reconcilers {

enum class PlacedKind {
  kDirectory,
  kEtcHostsEntry,
  kSysctl,
  kKernelModule,
  kFile,        // content known now (units, config files, LB configs)
  kSecretFile,  // content comes from the secret store (certificates, keys, kubeconfigs)
  kBinary,
  kService,
  kSymlink,
  kBlock,  // kthw's managed block in a file others own too (nginx.conf)
};

struct PlacedItem {
  PlacedKind kind;
  std::string target;  // path, unit name, sysctl key, module name
  std::string owner;   // Kind/name of the resource that wants it
  std::string detail;  // one line for people: a summary, never secret material
  std::optional<std::string> content;
  resources::FileAttributes attributes;
};

struct HostPlacement {
  const resources::Host* host;
  std::vector<PlacedItem> items;
};

// Everything the desired state places on each host, substitutions resolved. Pure: no I/O.
// The same reconcilers that plan apply say it: each host's items are what their diffs would do
// on that host were it empty, so render cannot drift from what apply writes. Certificates and
// keys are summaries (their material never enters a placement). The state must be valid; a
// value the output cannot carry is appended to `out` at its resource.
std::vector<HostPlacement> placeDesiredState(const resources::DesiredState& state,
                                             resources::Diagnostics& out);

std::string_view placedKindName(PlacedKind kind);

}  // namespace kthw::reconcilers
