#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "resources/desired_state.h"
#include "runtime/host_command.h"

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
// haproxy's admin socket (the path Debian's packaged configuration uses), where kthw takes a
// backend out of rotation while the service behind it restarts.
inline constexpr std::string_view kHaproxyAdminSocket = "/run/haproxy/admin.sock";
inline constexpr std::string_view kHaproxyBackend = "kubernetes-master-nodes";

// The command for the load balancer's host that sets one backend server's state ("maint" or
// "ready") on haproxy's admin socket (with socat; it fails with haproxy's answer when haproxy
// refuses). InvalidArgument for a server name haproxy's command line cannot carry.
StatusOr<runtime::HostCommand> haproxyServerState(
    const std::string& server, std::string state,
    std::string socket = std::string(kHaproxyAdminSocket));

// The HTTP /healthz proxy site for the controllers.
StatusOr<std::string> renderHealthzProxySite(const resources::HealthzProxy& proxy);

}  // namespace kthw::reconcilers
