#include "engine/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

#include "engine/api_access.h"
#include "engine/pass_context.h"
#include "resources/json.h"
#include "runtime/digest.h"
#include "runtime/local_transport.h"

namespace kthw::engine {
namespace {

using runtime::WorkResult;

bool isApiKind(const std::string& key) {
  return key.starts_with("ClusterRole/") || key.starts_with("ClusterRoleBinding/");
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

}  // namespace kthw::engine
