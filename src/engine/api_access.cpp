#include "engine/api_access.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "resources/substitution.h"
#include "resources/yaml_loader.h"
#include "runtime/base64.h"

namespace kthw::engine {
namespace {

StatusOr<runtime::ApiCredentials> fromKubeconfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return notFound("cannot read kubeconfig " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto loaded = resources::parseYaml(ss.str(), path);
  if (!loaded.errors.empty()) return invalidArgument(loaded.errors.front().toString());
  if (loaded.documents.empty()) return invalidArgument(path + " is empty");
  const resources::Node& root = loaded.documents[0].root;
  const resources::Node* clusters = root.find("clusters");
  const resources::Node* users = root.find("users");
  if (clusters == nullptr || clusters->items.empty() || users == nullptr || users->items.empty()) {
    return invalidArgument(path + ": no cluster or user");
  }
  const resources::Node* cluster = clusters->items[0].find("cluster");
  const resources::Node* user = users->items[0].find("user");
  if (cluster == nullptr || user == nullptr) return invalidArgument(path + ": malformed");
  runtime::ApiCredentials c{cluster->str("server"),
                            runtime::base64Decode(cluster->str("certificate-authority-data")),
                            runtime::base64Decode(user->str("client-certificate-data")),
                            runtime::base64Decode(user->str("client-key-data")), path};
  if (c.caPem.empty() || c.certPem.empty() || c.keyPem.empty()) {
    return invalidArgument(path +
                           ": kthw needs certificate-authority-data and a client "
                           "certificate and key embedded");
  }
  return c;
}

}  // namespace

StatusOr<runtime::ApiCredentials> apiCredentials(
    const resources::DesiredState& state,
    const std::map<std::string, reconcilers::BundleMaterial>& material,
    const std::string& kubeconfigPath) {
  if (!kubeconfigPath.empty()) return fromKubeconfig(kubeconfigPath);
  const resources::Kubeconfig* best = nullptr;
  const resources::CertificateBundle* bundle = nullptr;
  const resources::Certificate* cert = nullptr;
  for (const resources::CertificateBundle& b : state.bundles) {
    for (const resources::Kubeconfig& k : b.kubeconfigs) {
      auto c = std::find_if(b.certificates.begin(), b.certificates.end(),
                            [&](const auto& x) { return x.name == k.certificate; });
      if (c == b.certificates.end()) continue;
      const auto& groups = c->subject.organizations;
      if (std::find(groups.begin(), groups.end(), "system:masters") == groups.end()) continue;
      if (best == nullptr || k.name == "admin") {
        best = &k;
        bundle = &b;
        cert = &*c;
      }
    }
  }
  if (best == nullptr) {
    return notFound(
        "no kubeconfig of a system:masters user in the desired state; pass "
        "--kubeconfig");
  }
  auto m = material.find(bundle->name());
  if (m == material.end() || !m->second.has(cert->name) || !m->second.has(cert->issuer)) {
    return failedPrecondition("the " + cert->name + " certificate of CertificateBundle/" +
                              bundle->name() + " is not issued yet");
  }
  std::string server;
  if (!state.loadBalancers.empty()) {
    const resources::LoadBalancer& lb = state.loadBalancers.front();
    server = "https://" + lb.frontendAddress + ":" + std::to_string(lb.frontendPort);
  } else {
    resources::Diagnostics ignored;
    server = resources::Substituter(state).resolve(best->server, nullptr, ignored).value_or("");
  }
  return runtime::ApiCredentials{
      server, m->second.certificates.at(cert->issuer), m->second.certificates.at(cert->name),
      m->second.keys.at(cert->name).pem,
      "CertificateBundle/" + bundle->name() + " kubeconfig " + best->name};
}

ApiWaitPlan planApiWait(const resources::DesiredState& state,
                        const std::vector<engine::HostOutcome>& outcomes) {
  if (outcomes.empty()) return {};  // no host in this run (--kind ClusterRole): just wait
  const bool anyReached = std::any_of(outcomes.begin(), outcomes.end(),
                                      [](const engine::HostOutcome& o) { return o.reach.ok(); });
  if (!anyReached) return {true, "no host could be reached"};
  std::vector<std::string> apiHosts;
  bool apiReached = false;
  bool apiConverged = false;
  for (const engine::HostOutcome& o : outcomes) {
    const bool runsApiServer =
        std::any_of(state.services.begin(), state.services.end(), [&](const auto& svc) {
          return svc.component == "kube-apiserver" && state.selects(svc.hosts, *o.host);
        });
    if (!runsApiServer) continue;
    apiHosts.push_back(o.host->name());
    apiReached = apiReached || o.reach.ok();
    apiConverged = apiConverged || !o.failed();
  }
  // The API server runs elsewhere (not a service of this state): it may be up, so wait for it.
  if (apiHosts.empty() || apiConverged) return {};
  std::string names;
  for (const std::string& h : apiHosts) names += (names.empty() ? "" : ", ") + h;
  return {true, apiReached ? "no kube-apiserver host converged (" + names + ")"
                           : "no kube-apiserver host could be reached (" + names + ")"};
}

Status waitForApiServer(runtime::ApiClient& api, std::chrono::seconds timeout,
                        const std::function<void(const Status&, std::chrono::milliseconds)>& onWait,
                        const runtime::Clock& clock) {
  const auto deadline = clock.now() + timeout;
  std::mt19937 random(std::random_device{}());
  std::chrono::milliseconds delay(500);
  while (true) {
    Status s = api.ready();
    if (s.ok()) return s;
    if (timeout.count() == 0) {
      return unavailable("the API server at " + api.credentials().server +
                         " is not ready: " + s.message());
    }
    if (clock.now() + delay > deadline) {
      return deadlineExceeded("the API server at " + api.credentials().server +
                              " was not ready within " + std::to_string(timeout.count()) +
                              "s: " + s.message());
    }
    // Full jitter around the current step, so that many waiters do not move in lockstep.
    const auto jittered = std::chrono::milliseconds(
        delay.count() / 2 +
        static_cast<long>(random() % static_cast<unsigned>(delay.count() / 2 + 1)));
    if (onWait) onWait(s, jittered);
    clock.sleepFor(jittered);
    delay = std::min(delay * 2, std::chrono::milliseconds(8000));
  }
}

}  // namespace kthw::engine
