#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/plan.h"
#include "reconcilers/preflight.h"
#include "resources/desired_state.h"
#include "runtime/clock.h"
#include "runtime/host_ops.h"

namespace kthw::engine {

// How to reach a host; the daemon hands out cached connections, tests hand out fakes.
using HostOpsFactory = std::function<std::shared_ptr<runtime::HostOps>(const resources::Host&)>;

struct PassOptions {
  std::vector<std::string> hosts;  // only these (empty: all)
  // Only reconcilers of these kinds (empty: all). A reconciler that guards hosts
  // (HostScopedReconciler::guardsHost) still records the guard when its kind is not selected.
  std::vector<std::string> kinds;
  bool fetchDiffContent = false;  // one extra round trip per host that has content drift
  size_t parallelism = 32;
  // Apply: take the host's writer lock (runtime::kHostLockPath) as this owner before the first
  // change, waiting up to `lockWait` for another writer; empty takes no lock.
  std::string lockOwner;
  std::chrono::seconds lockWait{0};
  std::chrono::seconds lockStaleAfter{900};
  // Set while a pass runs to stop it between actions (a shutdown): the action under way finishes,
  // no further file is written, and services whose files were all written are still (re)started.
  const std::atomic<bool>* cancel = nullptr;
  // Apply: asked once a reachable host is planned, before its lock and any change. A non-ok
  // answer leaves the host unchanged, its message in HostOutcome::refused (apply --plan: only
  // the plan that was reviewed is applied).
  std::function<Status(const reconcilers::HostPlan&)> admit;
  // A host whose clock is further than this from this machine's has a preflight problem.
  std::chrono::seconds maxClockSkew = reconcilers::kDefaultMaxClockSkew;
  // Time for the lock wait and the rollout's health waits (tests move it by hand).
  const runtime::Clock* clock = &runtime::steadyClock();
};

struct ActionResult {
  reconcilers::Action action;
  Status status;
  bool skipped = false;
};

// What happened on one host in one pass.
struct HostOutcome {
  const resources::Host* host = nullptr;
  Status reach;  // ok when the probe succeeded
  reconcilers::HostPlan plan;
  std::vector<ActionResult> results;  // apply only
  uint64_t roundTrips = 0;            // in this pass
  std::string lockedBy;               // another writer held the host's lock: nothing was changed
  std::string refused;                // PassOptions::admit said no: nothing was changed
  runtime::ProbeRequest probe;        // what was observed

  bool failed() const;
};

// Called as work on a host progresses (from the host's worker thread).
using ProgressFn = std::function<void(const HostOutcome&, const ActionResult*)>;

// Observes every selected host with one probe each (hosts in parallel) and diffs.
std::vector<HostOutcome> planHosts(
    const resources::DesiredState& state,
    const std::vector<const reconcilers::HostScopedReconciler*>& reconcilers,
    const HostOpsFactory& connect, const PassOptions& options);

// Plans as planHosts, then executes each host's actions in order. A failed action is recorded
// and the host goes on with the next (unless that one needs the failed one); one unreachable
// host does not stop the others.
std::vector<HostOutcome> applyHosts(
    const resources::DesiredState& state,
    const std::vector<const reconcilers::HostScopedReconciler*>& reconcilers,
    const HostOpsFactory& connect, const PassOptions& options,
    const ProgressFn& progress = nullptr);

// Runs work(0..count-1) on at most `parallelism` threads (at least one), and waits for all.
void runParallel(size_t count, size_t parallelism, const std::function<void(size_t)>& work);

// The default factory: SSH or local transport from the Host spec.
std::shared_ptr<runtime::HostOps> connectHost(const resources::Host& host);

}  // namespace kthw::engine
