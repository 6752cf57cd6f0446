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
// The state must be valid; substitution problems are appended to `out`.
std::vector<HostPlacement> placeDesiredState(const resources::DesiredState& state,
                                             resources::Diagnostics& out);

std::string_view placedKindName(PlacedKind kind);

}  // namespace kthw::reconcilers
