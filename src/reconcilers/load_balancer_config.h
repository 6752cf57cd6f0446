#pragma once

#include <string>
#include <vector>

#include "resources/desired_state.h"

namespace kthw::reconcilers {

struct Backend {
  std::string name;
  std::string address;
};

std::vector<Backend> loadBalancerBackends(const resources::DesiredState& state,
                                          const resources::LoadBalancer& lb);

// The whole configuration file kthw owns on the load balancer host.
std::string renderHaproxyConfig(const resources::LoadBalancer& lb,
                                const std::vector<Backend>& backends);
std::string renderNginxStreamConfig(const resources::LoadBalancer& lb,
                                    const std::vector<Backend>& backends);
// The HTTP /healthz proxy site for the controllers.
std::string renderHealthzProxySite(const resources::HealthzProxy& proxy);

}  // namespace kthw::reconcilers
