#pragma once

#include <string>
#include <string_view>

#include "reconcilers/plan.h"
#include "runtime/host_command.h"
#include "runtime/host_probe.h"

namespace kthw::reconcilers {

// What systemd reports for `unit`; an empty state (no load, no file state) when it has no word.
const runtime::UnitState& unitState(const runtime::ProbeResult& observed, const std::string& unit);

// One step on a systemd unit: "<verb> <unit>" for people ("enable", "start", "restart",
// "reload", "stop and disable"), the typed command for the host, the unit as its target.
Action unitAction(runtime::HostCommand::Kind kind, const std::string& resource,
                  const std::string& unit, std::string reason);

// Plans an enable of `unit` unless systemd reports it enabled; the reason is the unit file state
// systemd reports, or `unknown` when it reports none.
void ensureEnabled(const std::string& resource, const std::string& unit,
                   const runtime::UnitState& state, std::string_view unknown, HostPlan& plan);

}  // namespace kthw::reconcilers
