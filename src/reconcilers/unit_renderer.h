#pragma once

#include <optional>
#include <string>

#include "resources/control_plane_service.h"
#include "resources/host.h"
#include "resources/substitution.h"

namespace kthw::reconcilers {

// Renders the systemd unit of `service` for `host`, deterministically: flags in document order,
// one per line, values quoted and escaped for systemd's ExecStart parser. Substitution failures
// are appended to `out`.
std::optional<std::string> renderUnit(const resources::ControlPlaneService& service,
                                      const resources::Host& host,
                                      const resources::Substituter& substituter,
                                      resources::Diagnostics& out);

// Quotes one ExecStart word for systemd: "$" and "%" are escaped, whitespace or quotes force
// double quotes.
std::string systemdQuote(const std::string& word);

}  // namespace kthw::reconcilers
