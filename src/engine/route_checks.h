#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "reconcilers/bundle_material.h"
#include "resources/desired_state.h"

namespace kthw::engine {

// A TLS request through each LoadBalancer with a routeCheck (reconcilers::routeCheckUrl),
// verified against its bundle's authority; by LoadBalancer name. One whose authority is still to
// be issued is left out. Each request has a 5 s deadline.
std::map<std::string, Status> checkRoutes(
    const resources::DesiredState& state,
    const std::map<std::string, reconcilers::BundleMaterial>& material);

}  // namespace kthw::engine
