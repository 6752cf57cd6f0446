#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "common/status.h"
#include "reconcilers/bundle_material.h"
#include "resources/desired_state.h"
#include "runtime/api_client.h"

namespace kthw::cli {

// Where kthw reaches the API server and as whom. With `kubeconfigPath`, from that file;
// otherwise from the desired state: the client certificate of a bundle kubeconfig whose user is
// in system:masters (the one named admin first), and the first LoadBalancer's frontend (or that
// kubeconfig's server when there is no load balancer). FailedPrecondition when that certificate
// or its authority is still to be issued (a diff before the first apply).
StatusOr<runtime::ApiCredentials> apiCredentials(
    const resources::DesiredState& state,
    const std::map<std::string, reconcilers::BundleMaterial>& material,
    const std::string& kubeconfigPath);

// Waits for /readyz with exponential backoff and jitter, up to `timeout`; `onWait` hears each
// miss.
Status waitForApiServer(
    runtime::ApiClient& api, std::chrono::seconds timeout,
    const std::function<void(const Status&, std::chrono::milliseconds)>& onWait);

}  // namespace kthw::cli
