// Certificate generation inside the process: the seeds' bundle (a CA and six leaves).
#include <benchmark/benchmark.h>

#include "runtime/pki.h"

namespace {

using kthw::runtime::CertificateRequest;
using kthw::runtime::KeyType;

void fullBundle(benchmark::State& state) {
  const auto type = static_cast<KeyType>(state.range(0));
  const std::vector<std::pair<std::string, std::string>> leaves = {
      {"admin", "system:masters"},
      {"system:kube-controller-manager", "system:kube-controller-manager"},
      {"system:kube-scheduler", "system:kube-scheduler"},
      {"system:kube-proxy", "system:node-proxier"},
      {"kubernetes", "Kubernetes"},
      {"service-accounts", "Kubernetes"}};
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto caKey = kthw::runtime::generatePrivateKey(type);
    CertificateRequest ca;
    ca.commonName = "Kubernetes";
    ca.isCa = true;
    ca.validity = std::chrono::hours(87600);
    auto caPem = kthw::runtime::issueCertificate(ca, *caKey, "", *caKey, now);
    for (const auto& [cn, o] : leaves) {
      auto key = kthw::runtime::generatePrivateKey(type);
      CertificateRequest r;
      r.commonName = cn;
      r.organizations = {o};
      r.clientAuth = true;
      if (cn == "kubernetes") {
        r.serverAuth = true;
        r.ipAddresses = {"10.32.0.1", "10.0.1.10", "10.0.1.11", "10.0.1.12", "127.0.0.1"};
        r.dnsNames = {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                      "kubernetes.default.svc.cluster", "kubernetes.svc.cluster.local"};
      }
      r.validity = std::chrono::hours(8760);
      benchmark::DoNotOptimize(kthw::runtime::issueCertificate(r, *key, *caPem, *caKey, now));
    }
  }
  state.SetLabel(std::string(kthw::runtime::keyTypeName(type)));
}

BENCHMARK(fullBundle)
    ->Arg(static_cast<int>(KeyType::kRsa2048))
    ->Arg(static_cast<int>(KeyType::kRsa3072))
    ->Arg(static_cast<int>(KeyType::kEcdsaP256))
    ->Arg(static_cast<int>(KeyType::kEcdsaP384))
    ->Arg(static_cast<int>(KeyType::kEcdsaP521))
    ->Unit(benchmark::kMillisecond);

}  // namespace
