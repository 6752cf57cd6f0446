#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/host_pass.h"
#include "reconcilers/certificate_inventory.h"
#include "resources/desired_state.h"

namespace kthw::engine {

// Reads the certificate files of each selected host (all when `hosts` is empty) with one fetch
// per host, hosts in parallel. Hosts that get no certificate file are not contacted.
std::map<std::string, reconcilers::InstalledFiles> fetchInstalledCertificates(
    const resources::DesiredState& state, const std::vector<std::string>& hosts,
    const HostOpsFactory& connect, size_t parallelism);

}  // namespace kthw::engine
