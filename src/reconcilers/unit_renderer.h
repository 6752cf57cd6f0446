#pragma once

#include <optional>
#include <string>

#include "resources/control_plane_service.h"
#include "resources/host.h"
#include "resources/substitution.h"

namespace kthw::reconcilers {

// Renders the systemd unit of `service` for `host`, deterministically: flags in document order,
// one per line. Every value goes through systemd_syntax.h; substitution failures and values a
// unit cannot carry are appended to `out` (with the field they came from) and yield nullopt.
std::optional<std::string> renderUnit(const resources::ControlPlaneService& service,
                                      const resources::Host& host,
                                      const resources::Substituter& substituter,
                                      resources::Diagnostics& out);

}  // namespace kthw::reconcilers
