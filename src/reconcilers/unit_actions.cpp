#include "reconcilers/unit_actions.h"

namespace kthw::reconcilers {
namespace {

std::string_view verb(runtime::HostCommand::Kind kind) {
  using Kind = runtime::HostCommand::Kind;
  switch (kind) {
    case Kind::kEnableUnit:
      return "enable";
    case Kind::kDisableUnitNow:
      return "stop and disable";
    case Kind::kStartUnit:
      return "start";
    case Kind::kRestartUnit:
      return "restart";
    case Kind::kReloadUnit:
      return "reload";
    case Kind::kCheckUnitActive:
      return "check";
    default:
      return "run";
  }
}

}  // namespace

const runtime::UnitState& unitState(const runtime::ProbeResult& observed, const std::string& unit) {
  static const runtime::UnitState kNone;
  auto it = observed.units.find(unit);
  return it == observed.units.end() ? kNone : it->second;
}

Action unitAction(runtime::HostCommand::Kind kind, const std::string& resource,
                  const std::string& unit, std::string reason) {
  Action a = makeAction(ActionType::kRunCommand, resource, unit,
                        std::string(verb(kind)) + " " + unit, std::move(reason));
  a.command = runtime::HostCommand::unit(kind, unit);
  return a;
}

void ensureEnabled(const std::string& resource, const std::string& unit,
                   const runtime::UnitState& state, std::string_view unknown, HostPlan& plan) {
  if (state.unitFileState == "enabled") return;
  plan.actions.push_back(
      unitAction(runtime::HostCommand::Kind::kEnableUnit, resource, unit,
                 state.unitFileState.empty() ? std::string(unknown) : state.unitFileState));
}

}  // namespace kthw::reconcilers
