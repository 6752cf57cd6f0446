#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "resources/desired_state.h"

namespace kthw::reconcilers {

struct Backend {
  std::string name;
  std::string address;
};

std::vector<Backend> loadBalancerBackends(const resources::DesiredState& state,
                                          const resources::LoadBalancer& lb);

// The whole configuration file kthw owns on the load balancer host. Every value goes through
// config_syntax.h; InvalidArgument when one cannot be represented.
StatusOr<std::string> renderHaproxyConfig(const resources::LoadBalancer& lb,
                                          const std::vector<Backend>& backends);
StatusOr<std::string> renderNginxStreamConfig(const resources::LoadBalancer& lb,
                                              const std::vector<Backend>& backends);
// The HTTP /healthz proxy site for the controllers.
StatusOr<std::string> renderHealthzProxySite(const resources::HealthzProxy& proxy);

}  // namespace kthw::reconcilers
