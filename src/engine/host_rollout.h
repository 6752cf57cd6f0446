#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/host_pass.h"

namespace kthw::engine {

// What went wrong with a failed or skipped step, in the words a step skipped because of it
// reports: "write /etc/etcd/x.pem failed (exit 1): No space left on device". A skipped step's
// status already names the step that failed first.
std::string failureOf(const ActionResult& r);

// The last part of an apply, after every host's file actions: starts and restarts, one service
// at a time in rollout order. Starts go to every host at once (an etcd member cannot become
// healthy alone) and are then awaited; restarts go one host at a time, each behind the health
// check, and never while another member is unhealthy. Hosts not reached, locked by another
// writer or refused are left out.
// Health checks are polled once a second on `clock` until their timeout.
void rollout(std::vector<HostOutcome>& outcomes,
             std::vector<std::shared_ptr<runtime::HostOps>>& ops, const ProgressFn& progress,
             const runtime::Clock& clock);

}  // namespace kthw::engine
