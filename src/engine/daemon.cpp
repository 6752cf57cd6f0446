#include "engine/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <random>
#include <sstream>

#include "engine/api_access.h"
#include "engine/pass_context.h"
#include "engine/route_checks.h"
#include "reconcilers/rbac_reconciler.h"
#include "resources/json.h"
#include "runtime/digest.h"
#include "runtime/local_transport.h"
#include "runtime/pki.h"

namespace kthw::engine {
namespace {

using runtime::WorkResult;

bool isApiKind(const std::string& key) {
  return key.starts_with("ClusterRole/") || key.starts_with("ClusterRoleBinding/");
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string resultName(WorkResult r) {
  switch (r) {
    case WorkResult::kSuccess:
      return "success";
    case WorkResult::kRetry:
      return "retry";
    case WorkResult::kTerminal:
      return "terminal";
  }
  return "unknown";
}

// What identifies a connection: a Host whose address, port, user or keys change gets a new one.
std::string connectionKey(const resources::Host& h) {
  return h.address + "|" + std::to_string(h.ssh.port) + "|" + h.ssh.user + "|" +
         h.ssh.identityFile + "|" + h.ssh.hostKey + "|" + h.ssh.knownHostsFile + "|" +
         (h.transport == resources::TransportKind::kLocal ? "local" : "ssh") + "|" +
         (h.ssh.sudo ? "sudo" : "") + "|" +
         (h.ssh.proxyJump && h.ssh.proxyJump->via ? connectionKey(*h.ssh.proxyJump->via) : "");
}

}  // namespace

std::string gitRevision(const std::vector<std::string>& paths) {
  if (paths.empty() || paths.front() == "-") return "";
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(paths.front(), ec);
  if (!std::filesystem::is_directory(dir, ec)) dir = dir.parent_path();
  auto head = runtime::runProcess({"git", "-c", "safe.directory=*", "-C", dir.string(), "rev-parse",
                                   "--verify", "--quiet", "HEAD"},
                                  "", std::chrono::seconds(10));
  if (!head.ok() || head->exitStatus != 0) return "";
  std::string rev = head->out.substr(0, head->out.find('\n'));
  std::vector<std::string> argv = {
      "git",    "-c",          "safe.directory=*",         "-C", dir.string(),
      "status", "--porcelain", "--untracked-files=normal", "--"};
  for (const std::string& p : paths) {
    argv.push_back(std::filesystem::absolute(p, ec).string());
  }
  auto status = runtime::runProcess(argv, "", std::chrono::seconds(10));
  if (status.ok() && status->exitStatus == 0 && !status->out.empty()) rev += "-dirty";
  return rev;
}

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      queue_(clock_, options_.backoff, {options_.interval, 0.1}, std::random_device{}()) {
  declareDaemonMetrics(metrics_);
  heartbeat();
}

Daemon::~Daemon() { stop(); }

void Daemon::heartbeat() {
  heartbeat_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
}

void Daemon::reload() {
  std::istringstream noStdin;
  resources::LoadResult loaded = resources::loadPaths(options_.paths, noStdin);
  // One hash per document, keyed Kind/name, to tell which resources a change touched.
  std::map<std::string, std::string> hashes;
  std::string all;
  for (const resources::Document& d : loaded.documents) {
    const std::string json = resources::toJson(d.root);
    all += json;
    const resources::Node* meta = d.root.find("metadata");
    if (meta != nullptr) {
      hashes[d.root.str("kind") + "/" + meta->str("name")] = runtime::sha256Hex(json);
    }
  }
  const std::string contentHash = runtime::sha256Hex(all);
  const std::string revision = gitRevision(options_.paths);
  resources::LoadOutcome outcome = resources::buildDesiredState(std::move(loaded));

  std::lock_guard<std::mutex> lock(mu_);
  if (!outcome.ok()) {
    const bool known = rejected_ && rejected_->revision == revision && !revision.empty();
    Rejection r{revision, std::chrono::system_clock::now(), outcome.errorLines(),
                outcome.errorCount()};
    if (!known || r.errors != rejected_->errors) {
      spdlog::error("desired state{} rejected ({} error(s)); {} stays in force",
                    revision.empty() ? "" : " at " + revision, r.errorCount,
                    state_
                        ? "the last good state" + (revision_.empty() ? "" : " (" + revision_ + ")")
                        : "nothing");
      for (const std::string& e : r.errors) spdlog::error("  {}", e);
    }
    rejected_ = std::move(r);
    metrics_.set("kthw_desired_state_rejected", {}, 1);
    return;
  }
  for (const std::string& w : outcome.warningLines()) spdlog::warn("{}", w);
  rejected_.reset();
  metrics_.set("kthw_desired_state_rejected", {}, 0);
  if (revision != revision_) {
    metrics_.reset("kthw_synced_revision_info");
    metrics_.set("kthw_synced_revision_info", {{"revision", revision}}, 1);
  }
  if (state_ && contentHash == contentHash_) {
    if (revision != revision_) spdlog::info("desired state unchanged, now at {}", revision);
    revision_ = revision;
    return;
  }
  auto state = std::make_shared<const resources::DesiredState>(std::move(outcome.state));
  std::set<std::string> keys;
  for (const auto& [key, hash] : hashes) {
    keys.insert(key);
    ResourceStatus& rs = resources_[key];
    if (rs.specHash != hash) {
      rs.specHash = hash;
      ++rs.generation;
      queue_.add(key);
    }
  }
  for (auto it = resources_.begin(); it != resources_.end();) {
    // Removed from the desired state: no longer reported (kthw does not delete what it wrote).
    it = keys.count(it->first) != 0 ? std::next(it) : resources_.erase(it);
  }
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    it = state->findHost(it->first) != nullptr ? std::next(it) : hosts_.erase(it);
  }
  queue_.setKnownKeys(keys);
  spdlog::info("desired state{} loaded: {} resource(s), {} queued",
               revision.empty() ? "" : " at " + revision, keys.size(), queue_.depth());
  state_ = std::move(state);
  contentHash_ = contentHash;
  revision_ = revision;
  loadedAt_ = std::chrono::system_clock::now();
}

Daemon::Snapshot Daemon::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s{state_, {}};
  for (const auto& [key, rs] : resources_) s.generations[key] = rs.generation;
  return s;
}

Status Daemon::start() {
  auto server = runtime::HttpServer::start(
      options_.listen, [this](const std::string& path) { return handle(path); });
  if (!server.ok()) return server.status();
  http_ = std::move(*server);
  workers_.emplace_back([this] { hostWorker(); });
  workers_.emplace_back([this] { apiWorker(); });
  return okStatus();
}

void Daemon::stop() {
  if (stopping_.exchange(true)) return;
  queue_.shutDown();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  if (http_) http_->stop();
}

std::string Daemon::listenAddress() const { return http_ ? http_->address() : options_.listen; }

std::shared_ptr<runtime::HostOps> Daemon::connect(const resources::Host& host) {
  std::lock_guard<std::mutex> lock(connMu_);
  const std::string key = connectionKey(host);
  auto& slot = connections_[host.name()];
  if (!slot.second || slot.first != key) slot = {key, engine::connectHost(host)};
  return slot.second;
}

void Daemon::finish(const std::string& key, const engine::ConditionSet& pass, int64_t generation,
                    WorkResult result, double seconds) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = resources_.find(key);
    if (it != resources_.end()) {
      const auto now = std::chrono::system_clock::now();
      for (const engine::Condition& c : pass.all()) {
        it->second.conditions.set(c.type, c.status, c.reason, c.message, generation, now);
      }
      it->second.lastReconciled = now;
      it->second.reconciled = true;
      const engine::Condition* ready = it->second.conditions.get("Ready");
      metrics_.set("kthw_resource_ready", {{"kind", kindOf(key)}, {"name", nameOf(key)}},
                   ready != nullptr && ready->status == engine::ConditionStatus::kTrue ? 1 : 0);
    }
  }
  metrics_.add("kthw_reconcile_total", {{"kind", kindOf(key)}, {"result", resultName(result)}});
  metrics_.observe("kthw_reconcile_duration_seconds", {{"kind", kindOf(key)}}, seconds);
  auto delay = queue_.done(key, result);
  if (result == WorkResult::kRetry && delay) {
    spdlog::info("{}: not Ready; retrying in {:.1f} s", key,
                 std::chrono::duration<double>(*delay).count());
  }
}

void Daemon::finishAll(const std::vector<std::string>& keys, const Snapshot& snap,
                       const std::string& reason, const Status& why, WorkResult result,
                       double seconds) {
  const auto now = std::chrono::system_clock::now();
  for (const std::string& key : keys) {
    engine::ConditionSet c;
    const auto gen = snap.generations.count(key) ? snap.generations.at(key) : 0;
    c.set("Ready", engine::ConditionStatus::kFalse, reason, why.message(), gen, now);
    c.set("Progressing", engine::ConditionStatus::kFalse, reason, "", gen, now);
    c.set("Degraded", engine::ConditionStatus::kTrue, reason, why.message(), gen, now);
    finish(key, c, gen, result, seconds);
  }
}

void Daemon::hostWorker() {
  while (true) {
    auto keys = queue_.take(SIZE_MAX, [](const std::string& k) { return !isApiKind(k); });
    if (keys.empty()) return;
    reconcileHosts(keys, snapshot());
  }
}

void Daemon::apiWorker() {
  while (true) {
    auto keys = queue_.take(SIZE_MAX, isApiKind);
    if (keys.empty()) return;
    reconcileApi(keys, snapshot());
  }
}

void Daemon::reconcileHosts(const std::vector<std::string>& keys, const Snapshot& snap) {
  const auto started = std::chrono::steady_clock::now();
  const resources::DesiredState& state = *snap.state;
  std::set<std::string> kinds;
  for (const std::string& k : keys) kinds.insert(kindOf(k));
  spdlog::info("host pass: {} resource(s) of {} kind(s)", keys.size(), kinds.size());
  metrics_.add("kthw_passes_total", {{"worker", "hosts"}});

  // Report-only passes issue nothing: like diff, they read the stores.
  auto ctx = PassContext::create(state, options_.repair, std::chrono::system_clock::now());
  if (!ctx.ok()) {
    // Material or binaries are the prerequisite of every host-scoped kind.
    const auto result = ctx.status().code() == StatusCode::kInvalidArgument ? WorkResult::kTerminal
                                                                            : WorkResult::kRetry;
    spdlog::error("host pass: {}", ctx.status().message());
    finishAll(keys, snap, "PrerequisiteFailed", ctx.status(), result, secondsSince(started));
    return;
  }
  for (const std::string& line : (*ctx)->sealedLoads()) spdlog::info("host pass: {}", line);
  {
    auto creds = apiCredentials(state, (*ctx)->material(), options_.kubeconfig);
    std::lock_guard<std::mutex> lock(mu_);
    if (creds.ok()) apiCredentials_ = *creds;
  }
  const auto now = std::chrono::system_clock::now();
  metrics_.reset("kthw_certificate_expiry_seconds");
  for (const auto& [bundle, material] : (*ctx)->material()) {
    for (const auto& [name, pem] : material.certificates) {
      auto info = runtime::inspectCertificate(pem);
      if (!info.ok()) continue;
      metrics_.set("kthw_certificate_expiry_seconds", {{"bundle", bundle}, {"certificate", name}},
                   std::floor(std::chrono::duration<double>(info->notAfter - now).count()));
    }
  }

  engine::PassOptions options;
  options.kinds.assign(kinds.begin(), kinds.end());
  options.parallelism = options_.parallelism;
  options.maxClockSkew = options_.maxClockSkew;
  if (options_.repair) options.lockOwner = lockOwner("run");
  options.cancel = &stopping_;
  auto progress = [](const engine::HostOutcome& o, const engine::ActionResult* r) {
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
  };
  // The route check (a TLS request through each load balancer) runs beside the probes: a pass
  // that changes nothing reports it as found then; one that changes something checks again after.
  std::future<std::map<std::string, Status>> earlyRoutes;
  if (kinds.count("LoadBalancer") != 0) {
    earlyRoutes = std::async(std::launch::async, [&state, &ctx] {
      return engine::checkRoutes(state, (*ctx)->material());
    });
  }
  const double contextSeconds = secondsSince(started);
  auto connectKept = [this](const resources::Host& h) { return connect(h); };
  auto outcomes =
      options_.repair
          ? engine::applyHosts(state, (*ctx)->reconcilers(), connectKept, options, progress)
          : engine::planHosts(state, (*ctx)->reconcilers(), connectKept, options);
  if (!options_.repair) {
    for (const auto& o : outcomes) {
      progress(o, nullptr);
      for (const reconcilers::Action& a : o.plan.actions) {
        spdlog::warn("{}: drift, not repaired (--no-repair): {} ({})", o.host->name(), a.summary,
                     a.reason);
      }
    }
  }

  const double hostsSeconds = secondsSince(started) - contextSeconds;
  std::map<std::string, engine::ConditionSet> byResource;
  bool everyHostOk = true;
  uint64_t trips = 0;
  size_t changes = 0;
  for (const auto& o : outcomes) {
    engine::recordConditions(o, options_.repair, 0, now, byResource);
    everyHostOk = everyHostOk && !o.failed();
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
    for (const auto& o : outcomes) {
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
  for (const auto& o : outcomes) {
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
  if (options_.repair && everyHostOk && kinds.count("CertificateBundle") != 0 &&
      options.kinds.size() == engine::hostKinds().size()) {
    if (Status s = (*ctx)->recordDistributed(state, outcomes); !s.ok())
      spdlog::warn("{}", s.message());
  }
  if (options_.repair) {
    std::ostringstream sealed;
    if (Status s = (*ctx)->sealStores(state, sealed); !s.ok()) {
      spdlog::error("host pass: {}", s.message());
    } else if (!sealed.str().empty()) {
      spdlog::info("{}", sealed.str().substr(0, sealed.str().size() - 1));
    }
  }
  if (kinds.count("LoadBalancer") != 0) {
    std::map<std::string, Status> routes = earlyRoutes.get();
    if (changes > 0) routes = (*ctx)->checkRoutes(state, options_.routePatience);
    for (const auto& [lb, route] : routes) {
      if (route.ok()) continue;
      auto& c = byResource["LoadBalancer/" + lb];
      c.set("Ready", engine::ConditionStatus::kFalse, "RouteCheckFailed", route.message(), 0, now);
      c.set("Degraded", engine::ConditionStatus::kTrue, "RouteCheckFailed", route.message(), 0,
            now);
    }
  }
  const double seconds = secondsSince(started);
  spdlog::debug("host pass: prepared in {:.0f} ms, hosts {:.0f} ms, the rest {:.0f} ms",
                contextSeconds * 1000, hostsSeconds * 1000,
                (seconds - contextSeconds - hostsSeconds) * 1000);
  for (const std::string& key : keys) {
    const int64_t gen = snap.generations.count(key) ? snap.generations.at(key) : 0;
    auto it = byResource.find(key);
    engine::ConditionSet c;
    if (it != byResource.end()) {
      c = it->second;
    } else {
      c.set("Ready", engine::ConditionStatus::kUnknown, "NoHostSelected",
            "no reachable host carries this resource", gen, now);
    }
    const engine::Condition* ready = c.get("Ready");
    // Reported drift is this mode's result, not a failure to retry: the next resync looks again.
    const bool ok = ready != nullptr && (ready->status == engine::ConditionStatus::kTrue ||
                                         (!options_.repair && ready->reason == "Drifted"));
    finish(key, c, gen, ok ? WorkResult::kSuccess : WorkResult::kRetry, seconds);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++passes_;
    lastPassSeconds_ = seconds;
  }
  spdlog::info("host pass: {} host(s), {} change(s) found, {} round trip(s), {:.2f} s",
               outcomes.size(), changes, trips, seconds);
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
  if (!api_ || api_->credentials().server != creds->server ||
      api_->credentials().certPem != creds->certPem || api_->credentials().caPem != creds->caPem) {
    api_ = std::make_unique<runtime::HttpsApiClient>(*creds);
  }
  if (Status ready = api_->ready(); !ready.ok()) {
    finishAll(
        keys, snap, "APIServerUnavailable",
        unavailable("the API server at " + creds->server + " is not ready: " + ready.message()),
        WorkResult::kRetry, secondsSince(started));
    return;
  }
  auto plan = reconcilers::planRbac(*snap.state, *api_);
  if (!plan.ok()) {
    finishAll(keys, snap, "ReadFailed", plan.status(), WorkResult::kRetry, secondsSince(started));
    return;
  }
  reconcilers::RbacPlan mine;
  for (const auto& a : plan->actions) {
    if (std::find(keys.begin(), keys.end(), a.kind + "/" + a.name) != keys.end()) {
      mine.actions.push_back(a);
    }
  }
  const auto results = options_.repair ? reconcilers::applyRbac(mine, *api_)
                                       : std::vector<Status>(mine.actions.size());
  const double seconds = secondsSince(started);
  const auto now = std::chrono::system_clock::now();
  for (const std::string& key : keys) {
    const int64_t gen = snap.generations.count(key) ? snap.generations.at(key) : 0;
    size_t pending = 0;
    Status failed;
    for (size_t i = 0; i < mine.actions.size(); ++i) {
      if (mine.actions[i].kind + "/" + mine.actions[i].name != key) continue;
      ++pending;
      if (!options_.repair) {
        spdlog::warn("{}: drift, not repaired (--no-repair): {} needed", key,
                     reconcilers::rbacActionName(mine.actions[i].type));
        continue;
      }
      spdlog::info("{}: {} {}", key, reconcilers::rbacActionName(mine.actions[i].type),
                   results[i].ok() ? "done" : "FAILED: " + results[i].message());
      if (!results[i].ok() && failed.ok()) failed = results[i];
    }
    metrics_.set("kthw_drift_changes", {{"kind", kindOf(key)}, {"name", nameOf(key)}, {"host", ""}},
                 static_cast<double>(pending));
    engine::ConditionSet c;
    using S = engine::ConditionStatus;
    if (!failed.ok()) {
      c.set("Ready", S::kFalse, "ApplyFailed", failed.message(), gen, now);
      c.set("Degraded", S::kTrue, "ApplyFailed", failed.message(), gen, now);
    } else if (!options_.repair && pending > 0) {
      c.set("Ready", S::kFalse, "Drifted",
            std::to_string(pending) + " API write(s) pending, not repaired (--no-repair)", gen,
            now);
      c.set("Degraded", S::kFalse, "AsExpected", "", gen, now);
    } else {
      c.set("Ready", S::kTrue, pending > 0 ? "Converged" : "UpToDate", "", gen, now);
      c.set("Degraded", S::kFalse, "AsExpected", "", gen, now);
    }
    c.set("Progressing", pending > 0 ? S::kTrue : S::kFalse,
          pending > 0 ? (options_.repair ? "Applied" : "ChangesPending") : "Idle", "", gen, now);
    finish(key, c, gen, failed.ok() ? WorkResult::kSuccess : WorkResult::kRetry, seconds);
  }
}

}  // namespace kthw::engine
