#include "engine/host_pass.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "engine/host_rollout.h"
#include "reconcilers/unified_diff.h"
#include "runtime/local_transport.h"
#include "runtime/ssh_transport.h"

namespace kthw::engine {
namespace {

bool selected(const std::vector<std::string>& filter, const std::string& value) {
  return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
}

// A reconciler of the pass, in order. One whose kind is not selected takes part only when it
// guards hosts: the kinds after it then know what the guard leaves alone.
struct Participant {
  const reconcilers::HostScopedReconciler* reconciler;
  bool selected;
};

void diffAll(const resources::Host& host, const std::vector<Participant>& reconcilers,
             const runtime::ProbeResult& observed, reconcilers::HostPlan& plan) {
  for (const Participant& p : reconcilers) {
    if (p.selected) {
      p.reconciler->diff(host, observed, plan);
      continue;
    }
    reconcilers::HostPlan guardOnly;
    p.reconciler->diff(host, observed, guardOnly);
    plan.guarded.insert(plan.guarded.end(), guardOnly.guarded.begin(), guardOnly.guarded.end());
    plan.guardedFiles.insert(guardOnly.guardedFiles.begin(), guardOnly.guardedFiles.end());
  }
}

void planOne(const resources::Host& host, const std::vector<Participant>& reconcilers,
             runtime::HostOps& ops, const PassOptions& options, bool apply, HostOutcome& out) {
  runtime::ProbeRequest request;
  request.updateHashCache = apply;  // diff leaves the host untouched
  for (const Participant& p : reconcilers) p.reconciler->observe(host, request);
  const auto start = std::chrono::steady_clock::now();
  auto observed = ops.probe(request);
  out.probe = request;
  spdlog::debug("{}: probe of {} paths, {} units, {} sysctls over {} took {} ms ({})", host.name(),
                request.paths.size(), request.units.size(), request.sysctls.size(), ops.describe(),
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count(),
                observed.ok() ? "ok" : observed.status().message());
  out.plan.host = host.name();
  out.plan.transport = ops.describe();
  if (!observed.ok()) {
    out.reach = observed.status();
    return;
  }
  out.plan.osRelease = observed->osRelease;
  out.plan.kernel = observed->kernel;
  out.plan.hostKeyFingerprint = ops.hostKeyFingerprint();
  diffAll(host, reconcilers, *observed, out.plan);
  if (auto skew = reconcilers::clockSkewProblem(*observed, options.maxClockSkew)) {
    out.plan.problems.push_back(std::move(*skew));
  }
  if (!options.fetchDiffContent) return;
  std::vector<std::string> paths;
  for (const reconcilers::Action& a : out.plan.actions) {
    if (a.showContentDiff) paths.push_back(a.target);
  }
  if (paths.empty()) return;
  auto contents = ops.fetch(paths);
  spdlog::debug("{}: fetched {} file(s) to show their diffs", host.name(), paths.size());
  for (reconcilers::Action& a : out.plan.actions) {
    if (!a.showContentDiff) continue;
    if (!contents.ok()) {
      a.diff = "(could not fetch the current content: " + contents.status().message() + ")\n";
      continue;
    }
    auto it = contents->find(a.target);
    a.diff = reconcilers::unifiedDiff(it == contents->end() ? "" : it->second, a.content, a.target);
  }
}

bool stopRequested(const PassOptions& options) {
  return options.cancel != nullptr && options.cancel->load();
}

Status stoppingStatus() { return cancelled("not started: kthw is shutting down"); }

// Takes the host's writer lock before the first change, waiting for another writer up to
// options.lockWait. Returns whether the lock was taken; when it was not, out.lockedBy names the
// holder (or out.reach the error). A wait means the other writer may have changed the host, so
// the plan is made again.
bool lockHost(const resources::Host& host, const std::vector<Participant>& reconcilers,
              runtime::HostOps& ops, const PassOptions& options, HostOutcome& out) {
  const runtime::Clock& clock = *options.clock;
  const auto deadline = clock.now() + options.lockWait;
  bool waited = false;
  while (true) {
    auto state = ops.lock(options.lockOwner, options.lockStaleAfter);
    if (!state.ok()) {
      out.reach = state.status();
      return false;
    }
    if (state->acquired) {
      if (!state->tookOver.empty()) {
        spdlog::warn("{}: took over a stale kthw lock ({})", host.name(), state->tookOver);
      }
      if (waited) {
        out.plan = reconcilers::HostPlan();
        planOne(host, reconcilers, ops, options, true, out);
      }
      return true;
    }
    out.lockedBy = state->holder + " (held for " + std::to_string(state->heldSeconds) + "s)";
    if (clock.now() >= deadline || stopRequested(options)) return false;
    if (!waited)
      spdlog::info("{}: waiting for the kthw lock held by {}", host.name(), out.lockedBy);
    waited = true;
    clock.sleepFor(std::chrono::seconds(1));
    out.lockedBy.clear();
  }
}

Status execute(runtime::HostOps& ops, const reconcilers::Action& a) {
  switch (a.type) {
    case reconcilers::ActionType::kEnsureDirectory:
      return ops.ensureDirectory(a.file);
    case reconcilers::ActionType::kWriteFile:
      if (a.contentFile) return ops.writeFileFrom(a.file, *a.contentFile, a.ifCurrentSha256);
      return ops.writeFile(a.file, a.content, a.ifCurrentSha256);
    case reconcilers::ActionType::kReplaceBlock:
      return ops.replaceBlock(a.target, a.content, a.ifCurrentSha256);
    case reconcilers::ActionType::kRemoveFile:
      return ops.removeFile(a.target);
    case reconcilers::ActionType::kRunCommand:
      return ops.perform(a.command);
  }
  return internalError("unknown action");
}

std::vector<HostOutcome> pass(const resources::DesiredState& state,
                              const std::vector<const reconcilers::HostScopedReconciler*>& all,
                              const HostOpsFactory& connect, const PassOptions& options, bool apply,
                              const ProgressFn& progress) {
  std::vector<Participant> reconcilers;
  for (const reconcilers::HostScopedReconciler* r : all) {
    const bool chosen = selected(options.kinds, r->kind());
    if (chosen || r->guardsHost()) reconcilers.push_back({r, chosen});
  }
  std::vector<const resources::Host*> hosts;
  for (const resources::Host& h : state.hosts) {
    if (selected(options.hosts, h.name())) hosts.push_back(&h);
  }
  std::sort(hosts.begin(), hosts.end(), [](const resources::Host* a, const resources::Host* b) {
    return a->name() < b->name();
  });
  std::vector<HostOutcome> outcomes(hosts.size());
  std::vector<std::shared_ptr<runtime::HostOps>> ops(hosts.size());
  std::vector<uint64_t> startTrips(hosts.size(), 0);
  std::vector<char> locked(hosts.size(), 0);
  runParallel(hosts.size(), options.parallelism, [&](size_t i) {
    HostOutcome& out = outcomes[i];
    out.host = hosts[i];
    ops[i] = connect(*hosts[i]);
    startTrips[i] = ops[i]->roundTrips();
    planOne(*hosts[i], reconcilers, *ops[i], options, apply, out);
    if (apply && out.reach.ok() && options.admit) {
      if (Status s = options.admit(out.plan); !s.ok()) out.refused = s.message();
    }
    if (apply && out.reach.ok() && out.refused.empty() && !out.plan.actions.empty() &&
        !options.lockOwner.empty()) {
      locked[i] = lockHost(*hosts[i], reconcilers, *ops[i], options, out) ? 1 : 0;
    }
    if (progress) progress(out, nullptr);
    if (apply && out.reach.ok() && out.lockedBy.empty() && out.refused.empty()) {
      std::string previousFailure;  // why the step before failed, or empty
      for (const reconcilers::Action& a : out.plan.actions) {
        if (a.rollout != reconcilers::Action::Rollout::kNone) continue;
        ActionResult r{a, okStatus(), false};
        if (a.needsPrevious && !previousFailure.empty()) {
          r = ActionResult{a, Status(StatusCode::kAborted, previousFailure), true};
        }
        if (stopRequested(options)) r = ActionResult{a, stoppingStatus(), true};
        const auto started = std::chrono::steady_clock::now();
        if (!r.skipped) r.status = execute(*ops[i], a);
        spdlog::debug("{}: {} ({}) took {} ms: {}", hosts[i]->name(), a.summary, a.reason,
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count(),
                      r.skipped       ? "skipped"
                      : r.status.ok() ? "ok"
                                      : r.status.message());
        previousFailure = r.skipped || !r.status.ok() ? failureOf(r) : "";
        out.results.push_back(r);
        if (progress) progress(out, &out.results.back());
      }
    }
  });
  if (apply) {
    rollout(outcomes, ops, progress, *options.clock);
    // One more exec per changed host records the new files in its hash cache, so that the
    // next pass does not read them again; then the lock goes.
    runParallel(hosts.size(), options.parallelism, [&](size_t i) {
      if (outcomes[i].reach.ok() && !outcomes[i].results.empty())
        (void)ops[i]->probe(outcomes[i].probe);
      if (locked[i] != 0) {
        if (Status s = ops[i]->unlock(options.lockOwner); !s.ok()) {
          spdlog::warn("{}: {}", hosts[i]->name(), s.message());
        }
      }
    });
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    outcomes[i].roundTrips = ops[i]->roundTrips() - startTrips[i];
  }
  return outcomes;
}

}  // namespace

bool HostOutcome::failed() const {
  if (!reach.ok() || !lockedBy.empty() || !refused.empty()) return true;
  return std::any_of(results.begin(), results.end(),
                     [](const ActionResult& r) { return r.skipped || !r.status.ok(); });
}

std::vector<HostOutcome> planHosts(
    const resources::DesiredState& state,
    const std::vector<const reconcilers::HostScopedReconciler*>& reconcilers,
    const HostOpsFactory& connect, const PassOptions& options) {
  return pass(state, reconcilers, connect, options, false, nullptr);
}

std::vector<HostOutcome> applyHosts(
    const resources::DesiredState& state,
    const std::vector<const reconcilers::HostScopedReconciler*>& reconcilers,
    const HostOpsFactory& connect, const PassOptions& options, const ProgressFn& progress) {
  return pass(state, reconcilers, connect, options, true, progress);
}

void runParallel(size_t count, size_t parallelism, const std::function<void(size_t)>& work) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  const size_t n = std::max<size_t>(1, std::min(parallelism, count));
  for (size_t w = 0; w < n; ++w) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < count; i = next++) work(i);
    });
  }
  for (std::thread& t : workers) t.join();
}

namespace {

runtime::SshOptions sshOptions(const resources::Host& host) {
  runtime::SshOptions o;
  o.host = host.address;
  o.port = host.ssh.port;
  o.user = host.ssh.user;
  o.identityFile = host.ssh.identityFile;
  o.useAgent = host.ssh.useAgent;
  o.pinnedHostKey = host.ssh.hostKey;
  o.knownHostsFile = host.ssh.knownHostsFile;
  o.hostKeyCheck = host.ssh.hostKeyPolicy == resources::HostKeyPolicy::kAcceptNew
                       ? runtime::HostKeyCheck::kAcceptNew
                       : runtime::HostKeyCheck::kStrict;
  o.sudo = host.ssh.sudo;
  o.connectTimeout = std::chrono::seconds(host.ssh.connectTimeoutSeconds);
  o.keepaliveSeconds = host.ssh.keepaliveSeconds;
  return o;
}

}  // namespace

std::shared_ptr<runtime::HostOps> connectHost(const resources::Host& host) {
  const std::chrono::seconds timeout(host.ssh.commandTimeoutSeconds);
  if (host.transport == resources::TransportKind::kLocal) {
    return std::make_shared<runtime::ShellHostOps>(
        std::make_shared<runtime::LocalTransport>(host.ssh.sudo), timeout);
  }
  runtime::SshOptions o = sshOptions(host);
  if (host.ssh.proxyJump && host.ssh.proxyJump->via) {
    auto jump = std::make_shared<runtime::SshOptions>(sshOptions(*host.ssh.proxyJump->via));
    jump->connectTimeout = o.connectTimeout;  // one deadline covers the bastion and the host
    jump->hostKeyField = host.ssh.proxyJump->host.empty()
                             ? "spec.ssh.proxyJump.hostKey"
                             : "spec.ssh.hostKey of Host " + host.ssh.proxyJump->host;
    o.jump = std::move(jump);
  }
  return std::make_shared<runtime::ShellHostOps>(std::make_shared<runtime::SshTransport>(o),
                                                 timeout);
}

}  // namespace kthw::engine
