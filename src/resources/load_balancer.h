#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "resources/types.h"

namespace kthw::resources {

// The file a load balancer that sets no spec.configPath owns (the CRD's rule): where each
// implementation's packaged service reads it. A rule rather than a schema default, because it
// depends on spec.implementation.
inline std::string defaultConfigPath(std::string_view implementation) {
  return implementation == "nginx" ? "/etc/nginx/tcpconf.d/kubernetes.conf"
                                   : "/etc/haproxy/haproxy.cfg";
}

struct HealthzProxy {
  bool enabled = false;
  HostTarget hosts;
  std::string serverName;
  int listenPort = 0;
  std::string upstream;
  std::string caFile;

  bool operator==(const HealthzProxy&) const = default;
};

struct LoadBalancer {
  ObjectMeta metadata;
  std::string implementation;
  std::string host;
  Mark hostMark;
  std::string frontendAddress;
  int frontendPort = 0;
  std::vector<int> extraPorts;
  HostTarget backends;
  int backendPort = 0;
  bool backendUsesInternalIP = false;
  std::string backendService;  // backends.service: a ControlPlaneService drained on restart
  Mark backendServiceMark;
  int fall = 0;
  int rise = 0;
  int intervalSeconds = 0;
  std::string httpCheckPath;  // healthCheck.httpPath: empty for TCP checks
  std::string configPath;
  HealthzProxy healthzProxy;
  std::string routeBundle;  // routeCheck: empty when not set
  std::string routeAuthority;
  std::string routePath;
  FieldMarks marks;  // of spec

  const std::string& name() const { return metadata.name; }

  bool operator==(const LoadBalancer&) const = default;
};

}  // namespace kthw::resources
