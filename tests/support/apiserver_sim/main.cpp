// The API server simulator: stands in for kube-apiserver, kube-controller-manager and
// kube-scheduler in kthw's lab, because those binaries cannot be installed here. It takes the
// real components' flags (unknown ones are logged, not fatal) and behaves as they do where kthw
// can observe it:
//   kube-apiserver   TLS on --secure-port with --tls-cert-file; client certificates against
//                    --client-ca-file (CN user, O groups); /version, /healthz, /livez, /readyz;
//                    ready only while an etcd of --etcd-servers answers with the --etcd-* files
//   kube-controller-manager, kube-scheduler
//                    authenticate to the API server with their kubeconfig (the scheduler's
//                    comes from --config) and serve /healthz on their secure port only while
//                    that works
// The mode is the name it is started as (argv[0]), or --sim-mode.
#include <openssl/evp.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "rbac_api.h"
#include "resources/yaml_loader.h"
#include "runtime/base64.h"
#include "runtime/https_client.h"
#include "runtime/pki.h"
#include "tls_server.h"

namespace {

using kthw::sim::Request;
using kthw::sim::Response;

std::map<std::string, std::string> parseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!a.starts_with("--")) continue;
    a = a.substr(2);
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      flags[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      flags[a] = argv[++i];
    } else {
      flags[a] = "true";
    }
  }
  return flags;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string need(const std::map<std::string, std::string>& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) {
    std::cerr << "error: --" << name << " is required\n";
    std::exit(1);
  }
  return it->second;
}

std::string get(const std::map<std::string, std::string>& flags, const std::string& name,
                const std::string& fallback) {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

Response text(int status, const std::string& body) {
  return Response{status, body, "text/plain", ""};
}

constexpr const char* kVersion = R"({
  "major": "1",
  "minor": "21",
  "gitVersion": "v1.21.0-kthw-sim",
  "gitCommit": "0000000000000000000000000000000000000000",
  "gitTreeState": "clean",
  "buildDate": "2026-01-01T00:00:00Z",
  "goVersion": "go1.16.1",
  "compiler": "gc",
  "platform": "linux/amd64"
})";

// kube-apiserver: healthy while it can reach etcd.
[[noreturn]] void runApiServer(const std::map<std::string, std::string>& flags) {
  static const std::set<std::string> kKnown = {"advertise-address",
                                               "allow-privileged",
                                               "apiserver-count",
                                               "audit-log-maxage",
                                               "audit-log-maxbackup",
                                               "audit-log-maxsize",
                                               "audit-log-path",
                                               "authorization-mode",
                                               "bind-address",
                                               "client-ca-file",
                                               "enable-admission-plugins",
                                               "etcd-cafile",
                                               "etcd-certfile",
                                               "etcd-keyfile",
                                               "etcd-servers",
                                               "event-ttl",
                                               "encryption-provider-config",
                                               "kubelet-certificate-authority",
                                               "kubelet-client-certificate",
                                               "kubelet-client-key",
                                               "runtime-config",
                                               "service-account-key-file",
                                               "service-account-signing-key-file",
                                               "service-account-issuer",
                                               "service-cluster-ip-range",
                                               "service-node-port-range",
                                               "tls-cert-file",
                                               "tls-private-key-file",
                                               "v",
                                               "secure-port",
                                               "sim-mode"};
  for (const auto& [name, value] : flags) {
    if (kKnown.count(name) == 0) std::cerr << "warning: flag --" << name << " is not simulated\n";
  }
  kthw::runtime::TlsClientConfig etcdTls{readFile(need(flags, "etcd-cafile")),
                                         readFile(need(flags, "etcd-certfile")),
                                         readFile(need(flags, "etcd-keyfile"))};
  std::vector<std::string> etcd;
  std::stringstream servers(need(flags, "etcd-servers"));
  for (std::string s; std::getline(servers, s, ',');) etcd.push_back(s);
  static kthw::sim::EtcdStore store(etcdTls, etcd);
  static kthw::sim::RbacApi rbac(store);
  static std::atomic<bool> etcdReachable{false};
  static std::string etcdProblem = "not checked yet";
  static std::mutex problemMu;
  std::thread([] {
    while (true) {
      std::string problem;
      const bool ok = store.reachable(problem);
      etcdReachable = ok;
      {
        std::lock_guard<std::mutex> lock(problemMu);
        etcdProblem = problem;
      }
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }).detach();
  kthw::sim::TlsServerConfig cfg;
  cfg.address = get(flags, "bind-address", "0.0.0.0");
  cfg.port = std::stoi(get(flags, "secure-port", "6443"));
  cfg.certFile = need(flags, "tls-cert-file");
  cfg.keyFile = need(flags, "tls-private-key-file");
  cfg.clientCaFile = need(flags, "client-ca-file");
  kthw::sim::serveTls(cfg, [](const Request& r) -> Response {
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (path == "/version") return Response{200, kVersion, "application/json", ""};
    if (path == "/healthz" || path == "/livez") return text(200, "ok");
    if (path == "/readyz") {
      if (etcdReachable) return text(200, "ok");
      std::lock_guard<std::mutex> lock(problemMu);
      return text(500, "[-]etcd failed: " + etcdProblem + "\nreadyz check failed");
    }
    if (auto api = rbac.handle(r)) return *api;
    if (!r.caller.authenticated) {
      return Response{
          401,
          R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})",
          "application/json", ""};
    }
    return Response{
        404,
        R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404})",
        "application/json", ""};
  });
}

struct Kubeconfig {
  std::string server;
  std::string ca;
  std::string cert;
  std::string key;
};

// The first cluster and user of a kubeconfig with embedded data, as kthw writes them.
Kubeconfig readKubeconfig(const std::string& path) {
  auto loaded = kthw::resources::parseYaml(readFile(path), path);
  if (!loaded.errors.empty() || loaded.documents.empty()) {
    std::cerr << "error: cannot parse kubeconfig " << path << "\n";
    std::exit(1);
  }
  const auto& root = loaded.documents[0].root;
  Kubeconfig k;
  const auto* clusters = root.find("clusters");
  const auto* users = root.find("users");
  if (clusters == nullptr || clusters->items.empty() || users == nullptr || users->items.empty()) {
    std::cerr << "error: kubeconfig " << path << " has no cluster or user\n";
    std::exit(1);
  }
  const auto* cluster = clusters->items[0].find("cluster");
  const auto* user = users->items[0].find("user");
  k.server = cluster->str("server");
  k.ca = kthw::runtime::base64Decode(cluster->str("certificate-authority-data"));
  k.cert = kthw::runtime::base64Decode(user->str("client-certificate-data"));
  k.key = kthw::runtime::base64Decode(user->str("client-key-data"));
  return k;
}

// kube-controller-manager and kube-scheduler: healthy while their kubeconfig works.
[[noreturn]] void runComponent(const std::string& mode,
                               const std::map<std::string, std::string>& flags) {
  std::string kubeconfigPath = get(flags, "kubeconfig", "");
  if (kubeconfigPath.empty() && flags.count("config") != 0) {
    auto loaded = kthw::resources::parseYaml(readFile(flags.at("config")), flags.at("config"));
    if (!loaded.documents.empty()) {
      if (const auto* conn = loaded.documents[0].root.find("clientConnection")) {
        kubeconfigPath = conn->str("kubeconfig");
      }
    }
  }
  if (kubeconfigPath.empty()) {
    std::cerr
        << "error: no kubeconfig (--kubeconfig, or clientConnection.kubeconfig in --config)\n";
    std::exit(1);
  }
  const Kubeconfig kc = readKubeconfig(kubeconfigPath);
  static std::atomic<bool> connected{false};
  std::thread([kc] {
    kthw::runtime::HttpsClient client({kc.ca, kc.cert, kc.key});
    while (true) {
      auto r = client.request("GET", kc.server + "/healthz", "", "", std::chrono::seconds(3));
      connected = r.ok() && r->status == 200;
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }).detach();
  kthw::sim::TlsServerConfig cfg;
  cfg.address = get(flags, "bind-address", "0.0.0.0");
  cfg.port = std::stoi(get(flags, "secure-port", mode == "kube-scheduler" ? "10259" : "10257"));
  cfg.certFile = get(flags, "tls-cert-file", "");
  cfg.keyFile = get(flags, "tls-private-key-file", "");
  if (cfg.certFile.empty()) {
    // As the real components do without --tls-cert-file: a self-signed serving certificate.
    auto key = kthw::runtime::generatePrivateKey(kthw::runtime::KeyType::kEcdsaP256);
    kthw::runtime::CertificateRequest r;
    r.commonName = "localhost@kthw-sim";
    r.dnsNames = {"localhost"};
    r.ipAddresses = {"127.0.0.1"};
    r.serverAuth = true;
    r.validity = std::chrono::hours(24 * 365);
    auto pem = kthw::runtime::issueCertificate(r, *key, "", *key, std::chrono::system_clock::now());
    cfg.certFile = "/run/" + mode + "-sim.crt";
    cfg.keyFile = "/run/" + mode + "-sim.key";
    std::ofstream(cfg.certFile) << *pem;
    std::ofstream(cfg.keyFile) << key->pem;
  }
  kthw::sim::serveTls(cfg, [](const Request& r) -> Response {
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (path == "/healthz") {
      return connected ? text(200, "ok") : text(500, "[-]apiserver connection failed");
    }
    return text(404, "404 page not found");
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // SIGTERM is taken by the server's shutdown thread (see serveTls); block it everywhere else,
  // before any thread starts.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  const auto flags = parseFlags(argc, argv);
  std::string mode = argv[0];
  mode = mode.substr(mode.rfind('/') + 1);
  if (auto it = flags.find("sim-mode"); it != flags.end()) mode = it->second;
  if (mode == "kube-apiserver") runApiServer(flags);
  if (mode == "kube-controller-manager" || mode == "kube-scheduler") runComponent(mode, flags);
  std::cerr << "kthw-apiserver-sim: start it as kube-apiserver, kube-controller-manager or "
               "kube-scheduler (or pass --sim-mode)\n";
  return 2;
}
