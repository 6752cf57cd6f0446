#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/conditions.h"
#include "engine/host_pass.h"
#include "reconcilers/rbac_reconciler.h"
#include "resources/desired_state.h"
#include "runtime/api_client.h"

namespace kthw::engine {

// A certificate the pass issued into the secret store before touching hosts.
struct IssuedCertificate {
  std::string bundle;
  std::string name;
  std::string reason;
};

// One API write of the RBAC step: "create", "update", ... of kind/name.
struct RbacWrite {
  std::string action;
  std::string kind;
  std::string name;
  Status status;
};

// The RBAC step: the API writes made, or why none could be made.
struct RbacOutcome {
  std::string server;    // empty when no credentials could be had
  std::string identity;  // whose credentials
  std::vector<RbacWrite> writes;
  bool compared = false;  // the objects were read and the plan admitted
  size_t planned = 0;     // writes the plan holds (with repair off, none is made)
  Status status;          // the first failure, or why nothing was written
};

// When a certificate in a secret store stops being valid (kthw run exports it as a metric).
struct CertificateExpiry {
  std::string bundle;
  std::string name;
  std::chrono::system_clock::time_point notAfter;
};

// What a converge pass does, and for which resources. apply and run differ only in these.
struct ConvergeOptions {
  // The hosts and kinds of the pass (empty: all), parallelism, the host lock, cancellation, the
  // admission of each host's plan (apply --plan), the clock skew allowed.
  PassOptions pass;
  // false: observe and report (conditions say Drifted), change nothing anywhere, issue nothing.
  bool repair = true;
  // Reach the API server as this kubeconfig says (default: the desired state's admin).
  std::string kubeconfig;
  // Given: the RBAC step uses these credentials and reads no secret store for them (kthw run's
  // API worker, which has them from its last host pass).
  std::optional<runtime::ApiCredentials> apiCredentials;
  // How long the RBAC step waits for the API server to be ready. It checks once instead when the
  // host step reached no host that runs kube-apiserver (planApiWait).
  std::chrono::seconds apiWait{0};
  // After a host step that changed something, route checks are retried this long: a load
  // balancer that was just (re)configured routes once its backends' health checks rise.
  std::chrono::seconds routePatience{0};
  // Only these RBAC objects ("Kind/name") are written (empty: every one, and the labelled objects
  // that left the desired state are deleted).
  std::vector<std::string> rbacResources;
  // Asked with the RBAC plan before any write; a non-ok answer writes nothing (apply --plan).
  std::function<Status(const reconcilers::RbacPlan&)> admitRbac;
};

// What a converge pass tells as it goes; every member may be empty. `note` and `rbacWrite` are
// called on the calling thread, `hostProgress` from the hosts' worker threads.
struct ConvergeEvents {
  std::function<void(const std::string&)> note;
  ProgressFn hostProgress;
  std::function<void(const RbacWrite&)> rbacWrite;
};

// Hands out the API client for a set of credentials (kthw run keeps its connection alive).
using ApiClientSource =
    std::function<std::shared_ptr<runtime::ApiClient>(const runtime::ApiCredentials&)>;
// A new HTTPS client for each call.
std::shared_ptr<runtime::ApiClient> newApiClient(const runtime::ApiCredentials& credentials);

struct ConvergeResult {
  // The secret stores or binaries could not be prepared: nothing else was done, and every
  // resource of the pass has a condition saying so (PrerequisiteFailed).
  Status prerequisites;
  std::vector<IssuedCertificate> issued;
  std::vector<CertificateExpiry> certificates;
  std::vector<HostOutcome> hosts;
  bool changed = false;                            // a reachable host had something to change
  std::map<std::string, Status> routes;            // by LoadBalancer name
  std::optional<RbacOutcome> rbac;                 // when the pass included RBAC objects
  std::map<std::string, ConditionSet> conditions;  // by Kind/name: every resource of the pass
  // The admin credentials the secret stores give (for a later RBAC-only pass).
  std::optional<runtime::ApiCredentials> apiCredentials;
  Status sealing;       // sealing a changed store failed
  Status distribution;  // recording that keys reached every host failed
  double prepareSeconds = 0;
  double hostsSeconds = 0;
};

// One pass, the same for kthw apply and kthw run: prerequisites (the secret stores, issuing what
// is missing; the binaries) -> hosts (one probe each, in parallel; their plans executed with the
// health-gated rollout) -> key rotations recorded and stores sealed -> routes through the load
// balancers -> RBAC objects through the API server -> a condition set for every resource.
ConvergeResult converge(const resources::DesiredState& state, const ConvergeOptions& options,
                        const HostOpsFactory& connect, const ApiClientSource& api,
                        const ConvergeEvents& events);

// Whether a pass over these kinds (empty: all) reconciles hosts, checks routes, writes RBAC.
bool passWantsHosts(const PassOptions& pass);
bool passWantsRoutes(const PassOptions& pass);
bool passWantsRbac(const resources::DesiredState& state, const PassOptions& pass);

}  // namespace kthw::engine
