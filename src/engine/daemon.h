#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/conditions.h"
#include "engine/converge.h"
#include "engine/host_pass.h"
#include "resources/desired_state.h"
#include "runtime/api_client.h"
#include "runtime/http_server.h"
#include "runtime/metrics.h"
#include "runtime/work_queue.h"

namespace kthw::engine {

struct DaemonOptions {
  std::vector<std::string> paths;
  std::string listen = "127.0.0.1:9740";
  std::chrono::milliseconds interval{std::chrono::minutes(3)};
  runtime::BackoffPolicy backoff;
  size_t parallelism = 32;
  std::chrono::seconds maxClockSkew = reconcilers::kDefaultMaxClockSkew;
  std::string kubeconfig;
  std::chrono::seconds routePatience{20};
  // false: observe and report drift (conditions, /status, /metrics), change nothing anywhere.
  bool repair = true;
};

// `kthw run`: keeps the hosts and the API server converged to the desired state under `paths`.
//
// Two workers take keys ("Kind/name") from one work queue: the host worker reconciles every
// ready host-scoped resource in one pass (one probe per host, hosts in parallel, over SSH
// sessions kept across passes), the API worker the ready RBAC objects (over a kept-alive
// connection). A resource whose prerequisite is missing (no certificates yet, the API server
// not ready) gets a condition saying so and is retried with backoff; nothing orders the kinds
// but their conditions.
class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();

  // Loads the desired state (keeping the last good one when the new one is invalid), and
  // queues what changed. Called at start, on a watch event and on SIGHUP.
  void reload();
  // Starts the workers and the HTTP endpoint.
  Status start();
  // Stops taking work, lets in-flight actions finish (a pass stops between actions), joins.
  void stop();
  // The main loop calls this every second: /healthz answers 503 when it stops being called.
  void heartbeat();

  runtime::HttpResponse handle(const std::string& path);
  std::string listenAddress() const;
  bool ready() const;

 private:
  struct ResourceStatus {
    engine::ConditionSet conditions;
    int64_t generation = 0;
    std::string specHash;
    std::chrono::system_clock::time_point lastReconciled{};
    bool reconciled = false;
  };
  struct HostStatus {
    bool reachable = false;
    std::string error;
    size_t drift = 0;  // changes found by the last pass
    std::string lockedBy;
    uint64_t roundTrips = 0;
    std::chrono::system_clock::time_point observed{};
  };
  struct Rejection {
    std::string revision;
    std::chrono::system_clock::time_point at;
    std::vector<std::string> errors;  // at most kMaxPrintedDiagnostics, then "and N more"
    size_t errorCount = 0;
  };
  struct Snapshot {
    std::shared_ptr<const resources::DesiredState> state;
    std::map<std::string, int64_t> generations;
  };

  void hostWorker();
  void apiWorker();
  void reconcileHosts(const std::vector<std::string>& keys, const Snapshot& snap);
  void reconcileApi(const std::vector<std::string>& keys, const Snapshot& snap);
  // The converge options of a pass over `kinds`, from the daemon's.
  ConvergeOptions convergeOptions(const std::vector<std::string>& kinds);
  // Records a key's conditions from this pass and releases it with its result.
  void finish(const std::string& key, const engine::ConditionSet& pass, int64_t generation,
              runtime::WorkResult result, double seconds);
  void finishAll(const std::vector<std::string>& keys, const Snapshot& snap,
                 const std::string& reason, const Status& why, runtime::WorkResult result,
                 double seconds);
  std::shared_ptr<runtime::HostOps> connect(const resources::Host& host);
  Snapshot snapshot() const;
  std::string statusJson();
  std::string metricsText();

  DaemonOptions options_;
  runtime::SteadyClock clock_;
  runtime::WorkQueue queue_;
  runtime::Metrics metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> heartbeat_{0};

  mutable std::mutex mu_;
  std::shared_ptr<const resources::DesiredState> state_;
  std::string revision_;
  std::string contentHash_;
  std::chrono::system_clock::time_point loadedAt_{};
  std::optional<Rejection> rejected_;
  std::map<std::string, ResourceStatus> resources_;
  std::map<std::string, HostStatus> hosts_;
  std::optional<runtime::ApiCredentials> apiCredentials_;
  uint64_t passes_ = 0;
  double lastPassSeconds_ = 0;

  std::mutex connMu_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<runtime::HostOps>>> connections_;
  std::shared_ptr<runtime::ApiClient> api_;

  std::unique_ptr<runtime::HttpServer> http_;
  std::vector<std::thread> workers_;
};

// "Host" and "controller-0" of "Host/controller-0".
std::string kindOf(const std::string& key);
std::string nameOf(const std::string& key);
// What the work queue does with a key whose pass ended in `s`: done, retried with backoff
// (Status::retryable), or left until the desired state changes.
runtime::WorkResult workResultOf(const Status& s);
// The series kthw run exports (README: Metrics).
void declareDaemonMetrics(runtime::Metrics& m);

// The commit a desired-state path is at ("<sha>", "<sha>-dirty" with uncommitted changes under
// the paths), or "" outside a git work tree.
std::string gitRevision(const std::vector<std::string>& paths);

}  // namespace kthw::engine
