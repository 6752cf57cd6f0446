#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/host_pass.h"
#include "reconcilers/bundle_material.h"
#include "resources/desired_state.h"
#include "runtime/api_client.h"
#include "runtime/clock.h"

namespace kthw::engine {

// Where kthw reaches the API server and as whom. With `kubeconfigPath`, from that file;
// otherwise from the desired state: the client certificate of a bundle kubeconfig whose user is
// in system:masters (the one named admin first), and the first LoadBalancer's frontend (or that
// kubeconfig's server when there is no load balancer). FailedPrecondition when that certificate
// or its authority is still to be issued (a diff before the first apply).
StatusOr<runtime::ApiCredentials> apiCredentials(
    const resources::DesiredState& state,
    const std::map<std::string, reconcilers::BundleMaterial>& material,
    const std::string& kubeconfigPath);

// How apply meets the API server after its host pass. Waiting up to --api-timeout is for an
// apiserver this apply started or restarted; when no host could be reached, or no host that runs
// kube-apiserver was reached or converged, nothing the pass did can bring it up, so the API
// server is checked once instead: RBAC still goes in if it answers, and the run does not hang
// for minutes on hosts it could not reach.
struct ApiWaitPlan {
  bool checkOnce = false;
  std::string reason;  // why it is checked once ("no host could be reached")
};
ApiWaitPlan planApiWait(const resources::DesiredState& state,
                        const std::vector<engine::HostOutcome>& outcomes);

// Waits for /readyz with exponential backoff and jitter, up to `timeout`; `onWait` hears each
// miss.
Status waitForApiServer(runtime::ApiClient& api, std::chrono::seconds timeout,
                        const std::function<void(const Status&, std::chrono::milliseconds)>& onWait,
                        const runtime::Clock& clock = runtime::steadyClock());

}  // namespace kthw::engine
