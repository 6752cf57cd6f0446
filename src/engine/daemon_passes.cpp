// kthw run's two workers: each takes its keys from the queue and runs the one converge pass
// (engine/converge.h) over them, then records conditions, host status and metrics.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/converge.h"
#include "engine/daemon.h"
#include "engine/pass_context.h"

namespace kthw::engine {
namespace {

using runtime::WorkResult;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void logProgress(const HostOutcome& o, const ActionResult* r) {
  const std::string& host = o.host->name();
  if (r == nullptr) {
    if (!o.reach.ok()) spdlog::warn("{}: unreachable: {}", host, o.reach.message());
    if (!o.lockedBy.empty()) spdlog::warn("{}: the kthw lock is held by {}", host, o.lockedBy);
    if (o.reach.ok() && !o.plan.actions.empty()) {
      spdlog::info("{}: {} change(s)", host, o.plan.actions.size());
    }
  } else if (r->skipped || !r->status.ok()) {
    spdlog::warn("{}: {} {}: {}", host, r->skipped ? "skipped" : "FAILED", r->action.summary,
                 r->status.message());
  } else {
    spdlog::info("{}: done {}", host, r->action.summary);
  }
}

// Reported drift is a report-only pass's result, not a failure to retry: the next resync looks
// again.
WorkResult resultOf(const ConditionSet& c, bool repair) {
  const Condition* ready = c.get("Ready");
  const bool ok = ready != nullptr && (ready->status == ConditionStatus::kTrue ||
                                       (!repair && ready->reason == "Drifted"));
  return ok ? WorkResult::kSuccess : WorkResult::kRetry;
}

}  // namespace

WorkResult workResultOf(const Status& s) {
  if (s.ok()) return WorkResult::kSuccess;
  return s.retryable() ? WorkResult::kRetry : WorkResult::kTerminal;
}

ConvergeOptions Daemon::convergeOptions(const std::vector<std::string>& kinds) {
  ConvergeOptions o;
  o.pass.kinds = kinds;
  o.pass.parallelism = options_.parallelism;
  o.pass.maxClockSkew = options_.maxClockSkew;
  if (options_.repair) o.pass.lockOwner = lockOwner("run");
  o.pass.cancel = &stopping_;
  o.repair = options_.repair;
  o.kubeconfig = options_.kubeconfig;
  o.routePatience = options_.routePatience;
  return o;
}

void Daemon::reconcileHosts(const std::vector<std::string>& keys, const Snapshot& snap) {
  const auto started = std::chrono::steady_clock::now();
  const resources::DesiredState& state = *snap.state;
  std::set<std::string> kinds;
  for (const std::string& k : keys) kinds.insert(kindOf(k));
  spdlog::info("host pass: {} resource(s) of {} kind(s)", keys.size(), kinds.size());
  metrics_.add("kthw_passes_total", {{"worker", "hosts"}});

  ConvergeEvents events;
  events.note = [](const std::string& line) { spdlog::info("host pass: {}", line); };
  events.hostProgress = logProgress;
  auto connectKept = [this](const resources::Host& h) { return connect(h); };
  ConvergeResult pass =
      converge(state, convergeOptions({kinds.begin(), kinds.end()}), connectKept, nullptr, events);
  if (!pass.prerequisites.ok()) {
    // Material or binaries are the prerequisite of every host-scoped kind.
    const auto result = workResultOf(pass.prerequisites);
    spdlog::error("host pass: {}", pass.prerequisites.message());
    finishAll(keys, snap, "PrerequisiteFailed", pass.prerequisites, result, secondsSince(started));
    return;
  }
  const auto now = std::chrono::system_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pass.apiCredentials) apiCredentials_ = pass.apiCredentials;
  }
  metrics_.reset("kthw_certificate_expiry_seconds");
  for (const CertificateExpiry& c : pass.certificates) {
    metrics_.set("kthw_certificate_expiry_seconds", {{"bundle", c.bundle}, {"certificate", c.name}},
                 std::floor(std::chrono::duration<double>(c.notAfter - now).count()));
  }
  if (!options_.repair) {
    for (const auto& o : pass.hosts) {
      logProgress(o, nullptr);
      for (const reconcilers::Action& a : o.plan.actions) {
        spdlog::warn("{}: drift, not repaired (--no-repair): {} ({})", o.host->name(), a.summary,
                     a.reason);
      }
    }
  }
  if (!pass.distribution.ok()) spdlog::warn("{}", pass.distribution.message());
  if (!pass.sealing.ok()) spdlog::error("host pass: {}", pass.sealing.message());

  uint64_t trips = 0;
  size_t changes = 0;
  for (const auto& o : pass.hosts) {
    trips += o.roundTrips;
    changes += o.reach.ok() ? o.plan.actions.size() : 0;
    if (!o.reach.ok()) {
      // A host that went away gets a fresh connection next time.
      std::lock_guard<std::mutex> lock(connMu_);
      connections_.erase(o.host->name());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& o : pass.hosts) {
      HostStatus& h = hosts_[o.host->name()];
      h.reachable = o.reach.ok();
      h.error = o.reach.ok() ? "" : o.reach.message();
      h.drift = o.reach.ok() ? o.plan.actions.size() : 0;
      h.lockedBy = o.lockedBy;
      h.roundTrips = o.roundTrips;
      h.observed = now;
      metrics_.set("kthw_host_reachable", {{"host", o.host->name()}}, o.reach.ok() ? 1 : 0);
    }
  }
  // Drift per resource and host, as this pass found it (before repairing it).
  for (const auto& o : pass.hosts) {
    std::map<std::string, size_t> perResource;
    for (const std::string& r : o.plan.resources) perResource[r] = 0;
    for (const reconcilers::Action& a : o.plan.actions) ++perResource[a.resource];
    for (const auto& [resource, n] : perResource) {
      if (std::find(keys.begin(), keys.end(), resource) == keys.end()) continue;
      metrics_.set(
          "kthw_drift_changes",
          {{"kind", kindOf(resource)}, {"name", nameOf(resource)}, {"host", o.host->name()}},
          static_cast<double>(n));
    }
  }
  const double seconds = secondsSince(started);
  spdlog::debug("host pass: prepared in {:.0f} ms, hosts {:.0f} ms, the rest {:.0f} ms",
                pass.prepareSeconds * 1000, pass.hostsSeconds * 1000,
                (seconds - pass.prepareSeconds - pass.hostsSeconds) * 1000);
  for (const std::string& key : keys) {
    const int64_t gen = snap.generations.count(key) ? snap.generations.at(key) : 0;
    auto it = pass.conditions.find(key);
    ConditionSet c;
    if (it != pass.conditions.end()) {
      c = it->second;
    } else {
      c.set("Ready", ConditionStatus::kUnknown, "NoHostSelected",
            "no reachable host carries this resource", gen, now);
    }
    finish(key, c, gen, resultOf(c, options_.repair), seconds);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++passes_;
    lastPassSeconds_ = seconds;
  }
  spdlog::info("host pass: {} host(s), {} change(s) found, {} round trip(s), {:.2f} s",
               pass.hosts.size(), changes, trips, seconds);
}

void Daemon::reconcileApi(const std::vector<std::string>& keys, const Snapshot& snap) {
  const auto started = std::chrono::steady_clock::now();
  metrics_.add("kthw_passes_total", {{"worker", "api"}});
  std::optional<runtime::ApiCredentials> creds;
  {
    std::lock_guard<std::mutex> lock(mu_);
    creds = apiCredentials_;
  }
  if (!creds) {
    // Level-based: the certificates come from the host worker's pass.
    finishAll(keys, snap, "WaitingForCredentials",
              unavailable("no admin credentials yet: the CertificateBundle has not been issued"),
              WorkResult::kRetry, secondsSince(started));
    return;
  }
  std::set<std::string> kinds;
  for (const std::string& k : keys) kinds.insert(kindOf(k));
  ConvergeOptions options = convergeOptions({kinds.begin(), kinds.end()});
  options.apiCredentials = creds;
  options.rbacResources = keys;
  // The connection is kept alive across passes, and replaced when the credentials change.
  auto keptClient = [this](const runtime::ApiCredentials& c) {
    if (!api_ || api_->credentials().server != c.server ||
        api_->credentials().certPem != c.certPem || api_->credentials().caPem != c.caPem) {
      api_ = newApiClient(c);
    }
    return api_;
  };
  ConvergeEvents events;
  events.rbacWrite = [](const RbacWrite& w) {
    spdlog::info("{}/{}: {} {}", w.kind, w.name, w.action,
                 w.status.ok() ? "done" : "FAILED: " + w.status.message());
  };
  ConvergeResult pass = converge(*snap.state, options, nullptr, keptClient, events);
  const double seconds = secondsSince(started);
  const auto now = std::chrono::system_clock::now();
  for (const std::string& key : keys) {
    const int64_t gen = snap.generations.count(key) ? snap.generations.at(key) : 0;
    ConditionSet c;
    if (auto it = pass.conditions.find(key); it != pass.conditions.end()) {
      c = it->second;
    } else {
      c.set("Ready", ConditionStatus::kUnknown, "NotInDesiredState",
            "no RBAC object of the desired state has this name", gen, now);
    }
    const Condition* ready = c.get("Ready");
    const Condition* progressing = c.get("Progressing");
    if (!options_.repair && ready != nullptr && ready->reason == "Drifted") {
      spdlog::warn("{}: drift, not repaired (--no-repair): {}", key, ready->message);
    }
    const bool pending = progressing != nullptr && progressing->status == ConditionStatus::kTrue;
    metrics_.set("kthw_drift_changes", {{"kind", kindOf(key)}, {"name", nameOf(key)}, {"host", ""}},
                 pending ? 1.0 : 0.0);
    finish(key, c, gen, resultOf(c, options_.repair), seconds);
  }
}

}  // namespace kthw::engine
