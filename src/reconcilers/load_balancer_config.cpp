#include "reconcilers/load_balancer_config.h"

#include <algorithm>
#include <cctype>

#include "reconcilers/config_syntax.h"

namespace kthw::reconcilers {
namespace {

// Quotes words through config_syntax and keeps the first refusal, so that a renderer reads as
// the file it writes and still returns an error instead of a file with a broken word.
class Words {
 public:
  std::string operator()(const StatusOr<std::string>& word) {
    if (word.ok()) return *word;
    if (status_.ok()) status_ = word.status();
    return "";
  }
  StatusOr<std::string> result(std::string text) const {
    if (!status_.ok()) return status_;
    return text;
  }

 private:
  Status status_;
};

std::string port(int p) { return std::to_string(p); }

}  // namespace

std::vector<Backend> loadBalancerBackends(const resources::DesiredState& state,
                                          const resources::LoadBalancer& lb) {
  std::vector<Backend> out;
  for (const resources::Host* h : state.select(lb.backends)) {
    out.push_back(Backend{h->name(), lb.backendUsesInternalIP ? h->internalIP : h->address});
  }
  return out;
}

StatusOr<std::string> renderHaproxyConfig(const resources::LoadBalancer& lb,
                                          const std::vector<Backend>& backends) {
  Words w;
  std::string check = "check";
  if (lb.intervalSeconds != 2) check += " inter " + std::to_string(lb.intervalSeconds) + "s";
  check += " fall " + std::to_string(lb.fall) + " rise " + std::to_string(lb.rise);
  // An HTTPS check decides only where traffic goes; the traffic stays end to end TLS.
  if (!lb.httpCheckPath.empty()) check += " check-ssl verify none";
  std::string cfg = w(configComment("Managed by kthw (LoadBalancer/" + lb.name() +
                                    "); local edits are reported as drift and reverted.")) +
                    "global\n"
                    "    log /dev/log local0\n"
                    "    maxconn 4096\n"
                    // Root only: kthw sets backends to maintenance here during restarts.
                    "    stats socket " +
                    w(haproxyWord(std::string(kHaproxyAdminSocket))) +
                    " mode 600 level admin\n"
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
  cfg += "    bind " + w(haproxyWord(lb.frontendAddress + ":" + port(lb.frontendPort))) + "\n";
  for (int p : lb.extraPorts) {
    cfg += "    bind " + w(haproxyWord(lb.frontendAddress + ":" + port(p))) + "\n";
  }
  cfg +=
      "    option tcplog\n"
      "    mode tcp\n"
      "    default_backend kubernetes-master-nodes\n"
      "\n"
      "backend kubernetes-master-nodes\n"
      "    mode tcp\n"
      "    balance roundrobin\n";
  cfg += lb.httpCheckPath.empty() ? "    option tcp-check\n"
                                  : "    option httpchk\n"
                                    "    http-check send meth GET uri " +
                                        w(haproxyWord(lb.httpCheckPath)) +
                                        "\n"
                                        "    http-check expect status 200\n";
  for (const Backend& b : backends) {
    cfg += "    server " + w(haproxyWord(b.name)) + " " +
           w(haproxyWord(b.address + ":" + port(lb.backendPort))) + " " + check + "\n";
  }
  return w.result(std::move(cfg));
}

StatusOr<runtime::HostCommand> haproxyServerState(const std::string& server, std::string state,
                                                  std::string socket) {
  return runtime::HostCommand::haproxyServerState(std::string(kHaproxyBackend), server,
                                                  std::move(state), std::move(socket));
}

StatusOr<std::string> renderNginxStreamConfig(const resources::LoadBalancer& lb,
                                              const std::vector<Backend>& backends) {
  Words w;
  std::string cfg = w(configComment("Managed by kthw (LoadBalancer/" + lb.name() +
                                    "); local edits are reported as drift and reverted.")) +
                    "stream {\n"
                    "    upstream kubernetes {\n";
  for (const Backend& b : backends) {
    cfg += "        server " + w(nginxWord(b.address + ":" + port(lb.backendPort))) +
           " max_fails=" + std::to_string(lb.fall) +
           " fail_timeout=" + std::to_string(lb.intervalSeconds * lb.rise) + "s;\n";
  }
  cfg += "    }\n\n    server {\n";
  cfg += "        listen " + w(nginxWord(lb.frontendAddress + ":" + port(lb.frontendPort))) + ";\n";
  for (int p : lb.extraPorts) {
    cfg += "        listen " + w(nginxWord(lb.frontendAddress + ":" + port(p))) + ";\n";
  }
  cfg += "        proxy_pass kubernetes;\n    }\n}\n";
  return w.result(std::move(cfg));
}

StatusOr<std::string> renderHealthzProxySite(const resources::HealthzProxy& proxy) {
  Words w;
  std::string site = w(configComment("Managed by kthw.")) +
                     "server {\n"
                     "  listen      " +
                     port(proxy.listenPort) +
                     ";\n"
                     "  server_name " +
                     w(nginxWord(proxy.serverName)) +
                     ";\n"
                     "\n"
                     "  location /healthz {\n"
                     "     proxy_pass                    " +
                     w(nginxWord(proxy.upstream)) +
                     ";\n"
                     "     proxy_ssl_trusted_certificate " +
                     w(nginxWord(proxy.caFile)) +
                     ";\n"
                     "  }\n"
                     "}\n";
  return w.result(std::move(site));
}

}  // namespace kthw::reconcilers
