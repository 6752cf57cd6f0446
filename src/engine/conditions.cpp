#include "engine/conditions.h"

#include <algorithm>
#include <set>

#include "engine/host_pass.h"

namespace kthw::engine {

void ConditionSet::set(const std::string& type, ConditionStatus status, const std::string& reason,
                       const std::string& message, int64_t generation,
                       std::chrono::system_clock::time_point now) {
  auto it = std::find_if(conditions_.begin(), conditions_.end(),
                         [&](const Condition& c) { return c.type == type; });
  if (it == conditions_.end()) {
    conditions_.push_back(Condition{type, status, reason, message, generation, now});
    return;
  }
  if (it->status != status) it->lastTransitionTime = now;
  it->status = status;
  it->reason = reason;
  it->message = message;
  it->observedGeneration = generation;
}

const Condition* ConditionSet::get(const std::string& type) const {
  for (const Condition& c : conditions_) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

std::string_view conditionStatusName(ConditionStatus s) {
  switch (s) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

// `byResource` holds this pass's conditions; callers merge them into longer-lived state.
void recordConditions(const HostOutcome& o, bool applied, int64_t generation,
                      std::chrono::system_clock::time_point now,
                      std::map<std::string, ConditionSet>& byResource) {
  const std::string host = o.host->name();
  const std::string hostResource = "Host/" + host;
  using S = ConditionStatus;
  if (!o.reach.ok()) {
    ConditionSet& c = byResource[hostResource];
    c.set("Ready", S::kFalse, "Unreachable", o.reach.message(), generation, now);
    c.set("Progressing", S::kFalse, "Unreachable", "", generation, now);
    c.set("Degraded", S::kTrue, "Unreachable", o.reach.message(), generation, now);
    return;
  }
  std::set<std::string> resources(o.plan.resources.begin(), o.plan.resources.end());
  resources.insert(hostResource);
  for (const reconcilers::Action& a : o.plan.actions) resources.insert(a.resource);
  for (const std::string& r : resources) {
    size_t pending = 0;
    size_t failed = 0;
    std::string failure;
    for (const reconcilers::Action& a : o.plan.actions) pending += a.resource == r ? 1 : 0;
    for (const ActionResult& res : o.results) {
      if (res.action.resource != r || (res.status.ok() && !res.skipped)) continue;
      ++failed;
      if (failure.empty()) failure = res.action.summary + ": " + res.status.message();
    }
    ConditionSet& c = byResource[r];
    const std::string on = " on " + host;
    // A resource spans hosts: within one pass, the worst host decides.
    const Condition* ready = c.get("Ready");
    if (failed == 0 && pending == 0 && ready != nullptr) continue;
    if (failed == 0 && ready != nullptr && ready->status == S::kFalse &&
        (ready->reason == "ApplyFailed" || ready->reason == "HostLocked")) {
      continue;
    }
    if (!o.lockedBy.empty() && pending > 0) {
      c.set("Ready", S::kFalse, "HostLocked",
            std::to_string(pending) + " change(s) waiting" + on + ": the kthw lock is held by " +
                o.lockedBy,
            generation, now);
      c.set("Degraded", S::kFalse, "AsExpected", "", generation, now);
    } else if (failed > 0) {
      c.set("Ready", S::kFalse, "ApplyFailed", failure, generation, now);
      c.set("Degraded", S::kTrue, "ApplyFailed", failure + on, generation, now);
    } else if (pending > 0 && !applied) {
      c.set("Ready", S::kFalse, "Drifted", std::to_string(pending) + " change(s) pending" + on,
            generation, now);
      c.set("Degraded", S::kFalse, "AsExpected", "", generation, now);
    } else {
      c.set("Ready", S::kTrue, applied && pending > 0 ? "Converged" : "UpToDate", "", generation,
            now);
      c.set("Degraded", S::kFalse, "AsExpected", "", generation, now);
    }
    c.set("Progressing", pending > 0 ? S::kTrue : S::kFalse,
          pending > 0 ? (applied ? "Applied" : "ChangesPending") : "Idle",
          pending > 0 ? std::to_string(pending) + " change(s)" + on : "", generation, now);
  }
  // A problem that names a resource ("ControlPlaneService/x: ...") degrades that resource and
  // keeps it from Ready; any other degrades the host.
  for (const std::string& problem : o.plan.problems) {
    std::string owner = hostResource;
    for (const std::string& r : resources) {
      if (problem.starts_with(r + ": ")) owner = r;
    }
    ConditionSet& c = byResource[owner];
    if (c.get("Degraded") != nullptr && c.get("Degraded")->reason == "ProblemsObserved") continue;
    c.set("Degraded", S::kTrue, "ProblemsObserved", problem, generation, now);
    if (owner != hostResource)
      c.set("Ready", S::kFalse, "ProblemsObserved", problem, generation, now);
  }
}

}  // namespace kthw::engine
