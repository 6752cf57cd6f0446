#include "reconcilers/load_balancer_config.h"

namespace kthw::reconcilers {

std::vector<Backend> loadBalancerBackends(const resources::DesiredState& state,
                                          const resources::LoadBalancer& lb) {
  std::vector<Backend> out;
  for (const resources::Host* h : state.select(lb.backends)) {
    out.push_back(Backend{h->name(), lb.backendUsesInternalIP ? h->internalIP : h->address});
  }
  return out;
}

std::string renderHaproxyConfig(const resources::LoadBalancer& lb,
                                const std::vector<Backend>& backends) {
  std::string check = "check";
  if (lb.intervalSeconds != 2) check += " inter " + std::to_string(lb.intervalSeconds) + "s";
  check += " fall " + std::to_string(lb.fall) + " rise " + std::to_string(lb.rise);
  std::string cfg = "# Managed by kthw (LoadBalancer/" + lb.name() +
                    "); local edits are reported as drift and reverted.\n"
                    "global\n"
                    "    log /dev/log local0\n"
                    "    maxconn 4096\n"
                    "\n"
                    "defaults\n"
                    "    log global\n"
                    // A connection refused by a restarting apiserver is retried on another one,
                    // so rolling restarts cost clients nothing.
                    "    retries 3\n"
                    "    option redispatch\n"
                    "    timeout connect 5s\n"
                    "    timeout client 1h\n"
                    "    timeout server 1h\n"
                    "\n"
                    "frontend kubernetes\n";
  cfg += "    bind " + lb.frontendAddress + ":" + std::to_string(lb.frontendPort) + "\n";
  for (int port : lb.extraPorts) {
    cfg += "    bind " + lb.frontendAddress + ":" + std::to_string(port) + "\n";
  }
  cfg +=
      "    option tcplog\n"
      "    mode tcp\n"
      "    default_backend kubernetes-master-nodes\n"
      "\n"
      "backend kubernetes-master-nodes\n"
      "    mode tcp\n"
      "    balance roundrobin\n"
      "    option tcp-check\n";
  for (const Backend& b : backends) {
    cfg += "    server " + b.name + " " + b.address + ":" + std::to_string(lb.backendPort) + " " +
           check + "\n";
  }
  return cfg;
}

std::string renderNginxStreamConfig(const resources::LoadBalancer& lb,
                                    const std::vector<Backend>& backends) {
  std::string cfg = "# Managed by kthw (LoadBalancer/" + lb.name() +
                    "); local edits are reported as drift and reverted.\n"
                    "stream {\n"
                    "    upstream kubernetes {\n";
  for (const Backend& b : backends) {
    cfg += "        server " + b.address + ":" + std::to_string(lb.backendPort) +
           " max_fails=" + std::to_string(lb.fall) +
           " fail_timeout=" + std::to_string(lb.intervalSeconds * lb.rise) + "s;\n";
  }
  cfg += "    }\n\n    server {\n";
  cfg += "        listen " + lb.frontendAddress + ":" + std::to_string(lb.frontendPort) + ";\n";
  for (int port : lb.extraPorts) {
    cfg += "        listen " + lb.frontendAddress + ":" + std::to_string(port) + ";\n";
  }
  cfg += "        proxy_pass kubernetes;\n    }\n}\n";
  return cfg;
}

std::string renderHealthzProxySite(const resources::HealthzProxy& proxy) {
  return "# Managed by kthw.\n"
         "server {\n"
         "  listen      " +
         std::to_string(proxy.listenPort) +
         ";\n"
         "  server_name " +
         proxy.serverName +
         ";\n"
         "\n"
         "  location /healthz {\n"
         "     proxy_pass                    " +
         proxy.upstream +
         ";\n"
         "     proxy_ssl_trusted_certificate " +
         proxy.caFile +
         ";\n"
         "  }\n"
         "}\n";
}

}  // namespace kthw::reconcilers
