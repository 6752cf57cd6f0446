#include "engine/host_rollout.h"

#include <spdlog/spdlog.h>

#include <map>

namespace kthw::engine {
namespace {

// The reason a step of `resource` cannot go ahead: the first earlier step of it that failed or
// was skipped on this host; empty when there is none.
std::string failedPrerequisite(const std::vector<ActionResult>& earlier,
                               const std::string& resource) {
  for (const ActionResult& r : earlier) {
    if (r.action.resource == resource && (r.skipped || !r.status.ok())) return failureOf(r);
  }
  return "";
}

// Polls the probe on the host until it passes or its timeout ends.
Status waitHealthy(runtime::HostOps& ops, const reconcilers::HealthProbe& probe,
                   const runtime::Clock& clock) {
  const auto deadline = clock.now() + std::chrono::seconds(probe.timeoutSeconds);
  Status last;
  while (true) {
    last = ops.perform(probe.check);
    if (last.ok()) return last;
    if (clock.now() >= deadline) break;
    clock.sleepFor(std::chrono::seconds(1));
  }
  return deadlineExceeded("not healthy after " + std::to_string(probe.timeoutSeconds) + "s (" +
                          probe.description + "): " + last.message());
}

struct RolloutStep {
  size_t host;
  const reconcilers::Action* action;
};

size_t hostIndex(const std::vector<HostOutcome>& outcomes, const std::string& name) {
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].host->name() == name) return i;
  }
  return outcomes.size();
}

// Takes the step's host out of each load balancer's rotation it names; returns the indexes of
// the drains that took effect. A load balancer out of reach costs the restart nothing but a
// warning: its own health check still takes a stopped backend out, a few seconds later.
std::vector<size_t> takeOutOfRotation(const std::vector<HostOutcome>& outcomes,
                                      std::vector<std::shared_ptr<runtime::HostOps>>& ops,
                                      const RolloutStep& step) {
  std::vector<size_t> drained;
  const std::string& host = outcomes[step.host].host->name();
  for (size_t d = 0; d < step.action->drains.size(); ++d) {
    const reconcilers::Action::Drain& drain = step.action->drains[d];
    const size_t lb = hostIndex(outcomes, drain.host);
    Status s = lb == outcomes.size()      ? unavailable(drain.host + " is not in this pass")
               : !outcomes[lb].reach.ok() ? outcomes[lb].reach
                                          : ops[lb]->perform(drain.disable);
    if (s.ok()) {
      drained.push_back(d);
    } else {
      spdlog::warn("{}: {} restarts without leaving {}'s rotation: {}", host, step.action->target,
                   drain.resource, s.message());
    }
  }
  return drained;
}

}  // namespace

std::string failureOf(const ActionResult& r) {
  const std::string& message = r.status.message();
  if (r.skipped || message.starts_with(r.action.summary)) return message;
  return r.action.summary + " failed: " + message;
}

void rollout(std::vector<HostOutcome>& outcomes,
             std::vector<std::shared_ptr<runtime::HostOps>>& ops, const ProgressFn& progress,
             const runtime::Clock& clock) {
  std::map<std::pair<int, std::string>, std::vector<RolloutStep>> groups;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].reach.ok() || !outcomes[i].lockedBy.empty() || !outcomes[i].refused.empty())
      continue;
    for (const reconcilers::Action& a : outcomes[i].plan.actions) {
      if (a.rollout != reconcilers::Action::Rollout::kNone) {
        groups[{a.rolloutOrder, a.rolloutGroup}].push_back({i, &a});
      }
    }
  }
  auto record = [&](size_t host, const reconcilers::Action& a, Status status, bool skipped) {
    HostOutcome& out = outcomes[host];
    out.results.push_back(ActionResult{a, std::move(status), skipped});
    if (progress) progress(out, &out.results.back());
  };
  for (auto& [key, steps] : groups) {
    const std::string& group = key.second;
    std::vector<RolloutStep> starts;
    std::vector<RolloutStep> restarts;
    for (const RolloutStep& step : steps) {
      // A shutdown does not skip these: the files they follow were written, and a service must
      // not be left running what they replaced. Steps whose writes were skipped are skipped.
      const std::string prerequisite =
          failedPrerequisite(outcomes[step.host].results, step.action->resource);
      if (!prerequisite.empty()) {
        record(step.host, *step.action, Status(StatusCode::kAborted, prerequisite), true);
        continue;
      }
      (step.action->rollout == reconcilers::Action::Rollout::kStart ? starts : restarts)
          .push_back(step);
    }
    std::vector<Status> started(starts.size());
    for (size_t k = 0; k < starts.size(); ++k) {
      runtime::HostCommand start = starts[k].action->command;
      start.noBlock = true;
      started[k] = ops[starts[k].host]->perform(start);
    }
    for (size_t k = 0; k < starts.size(); ++k) {
      const HostOutcome& out = outcomes[starts[k].host];
      Status s = started[k];
      if (s.ok()) s = waitHealthy(*ops[starts[k].host], out.plan.health.at(group), clock);
      record(starts[k].host, *starts[k].action, s, false);
    }
    std::string stopped;
    for (const RolloutStep& step : restarts) {
      if (!stopped.empty()) {
        record(step.host, *step.action, Status(StatusCode::kAborted, stopped), true);
        continue;
      }
      for (size_t other = 0; other < outcomes.size() && stopped.empty(); ++other) {
        const HostOutcome& o = outcomes[other];
        if (other == step.host || !o.reach.ok() || o.plan.health.count(group) == 0) continue;
        // A member that just restarted (or whose dependency did) may need a moment: wait for
        // it as for the member itself, then give up.
        if (Status h = waitHealthy(*ops[other], o.plan.health.at(group), clock); !h.ok()) {
          stopped = "rollout of " + group + " stopped: member " + o.host->name() +
                    " is unhealthy, so no other member is taken down (" + h.message() + ")";
        }
      }
      if (!stopped.empty()) {
        record(step.host, *step.action, Status(StatusCode::kAborted, stopped), true);
        continue;
      }
      const std::vector<size_t> drained = takeOutOfRotation(outcomes, ops, step);
      Status s = ops[step.host]->perform(step.action->command);
      if (s.ok())
        s = waitHealthy(*ops[step.host], outcomes[step.host].plan.health.at(group), clock);
      // Back into rotation even after a failed restart: the load balancer's own check keeps a
      // backend that is not healthy out, and a backend left in maintenance would stay out for good.
      for (size_t d : drained) {
        const reconcilers::Action::Drain& drain = step.action->drains[d];
        if (Status e = ops[hostIndex(outcomes, drain.host)]->perform(drain.enable);
            !e.ok() && s.ok()) {
          s = failedPrecondition("restarted, but " + outcomes[step.host].host->name() +
                                 " is still out of " + drain.resource + "'s rotation on " +
                                 drain.host + ": " + e.message());
        }
      }
      if (!s.ok()) {
        stopped = "rollout of " + group + " stopped after " + outcomes[step.host].host->name() +
                  " failed: " + s.message();
      }
      record(step.host, *step.action, s, false);
    }
  }
}

}  // namespace kthw::engine
