// The pure steps of a pass: loading and validating documents, rendering units, parsing a
// probe, and the diff step of each reconciler on a converged host.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/binary_sources.h"
#include "engine/host_pass.h"
#include "fake_host.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/bundle_material.h"
#include "reconcilers/control_plane_service_reconciler.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/load_balancer_reconciler.h"
#include "reconcilers/placement.h"
#include "resources/desired_state.h"
#include "runtime/digest.h"
#include "runtime/host_probe.h"

namespace {

kthw::resources::LoadOutcome loadExample() {
  std::istringstream none;
  return kthw::resources::loadDesiredState({KTHW_SOURCE_DIR "/examples/ha-cluster"}, none);
}

void loadAndValidateHaCluster(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(loadExample());
}
BENCHMARK(loadAndValidateHaCluster)->Unit(benchmark::kMicrosecond);

void renderEveryHost(benchmark::State& state) {
  auto loaded = loadExample();
  for (auto _ : state) {
    kthw::resources::Diagnostics d;
    benchmark::DoNotOptimize(kthw::reconcilers::placeDesiredState(loaded.state, d));
  }
}
BENCHMARK(renderEveryHost)->Unit(benchmark::kMicrosecond);

std::string probeOutput(int paths) {
  std::string out = "KTHW-PROBE 1\n";
  for (int i = 0; i < paths; ++i) {
    const std::string p = "/var/lib/kubernetes/file-" + std::to_string(i) + ".pem";
    out += "F\t" + p + "\tregular file\t600\troot\troot\t1704\n";
    out += "H\t" + kthw::runtime::sha256Hex(p) + "\t" + p + "\n";
  }
  return out + "END\n";
}

void parseProbe(benchmark::State& state) {
  const std::string out = probeOutput(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(kthw::runtime::parseProbeOutput(out));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(parseProbe)->Arg(20)->Arg(200)->Unit(benchmark::kMicrosecond);

void hostDiffConverged(benchmark::State& state) {
  auto loaded = loadExample();
  const kthw::resources::Host& host = loaded.state.hosts.front();
  kthw::runtime::ProbeResult observed;
  for (const auto& d : host.directories) {
    observed.files[d.path] = {kthw::runtime::FileType::kDirectory,
                              d.attributes.mode,
                              d.attributes.owner,
                              d.attributes.group,
                              4096,
                              ""};
  }
  observed.blocks[kthw::reconcilers::kEtcHosts] = kthw::reconcilers::etcHostsBlock(host);
  kthw::reconcilers::HostBasicsReconciler reconciler;
  for (auto _ : state) {
    kthw::reconcilers::HostPlan plan;
    reconciler.diff(host, observed, plan);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(hostDiffConverged)->Unit(benchmark::kMicrosecond);

}  // namespace

// The diff step of every host-scoped reconciler on a converged controller of examples/lab: the
// hosts are a fake that was applied to first, so the observation is what a converged host
// returns (services active and enabled).
namespace converged {

struct Cluster {
  kthw::resources::LoadOutcome loaded;
  std::unique_ptr<kthw::runtime::SecretStore> store;
  std::map<std::string, kthw::reconcilers::BundleMaterial> material;
  std::map<std::string, kthw::reconcilers::BinarySource> binaries;
  std::map<std::string, kthw::Status> routes;
  std::unique_ptr<kthw::reconcilers::HostBasicsReconciler> basics;
  std::unique_ptr<kthw::reconcilers::CertificateBundleReconciler> bundles;
  std::unique_ptr<kthw::reconcilers::ControlPlaneServiceReconciler> services;
  std::unique_ptr<kthw::reconcilers::LoadBalancerReconciler> balancers;
  const kthw::resources::Host* host = nullptr;
  kthw::runtime::ProbeResult observed;
};

Cluster& cluster() {
  static Cluster* built = [] {
    auto* c = new Cluster();
    std::string docs;
    for (int i = 0; i < 3; ++i) {
      docs += "---\napiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: controller-" +
              std::to_string(i) + "\n  labels: {role: controller}\nspec:\n  address: 10.77.0.1" +
              std::to_string(i) + "\n  internalIP: 10.77.0.1" + std::to_string(i) +
              "\n  transport: local\n";
    }
    docs +=
        "---\napiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: lb-0\n"
        "  labels: {role: loadbalancer}\nspec:\n  address: 10.77.0.30\n  transport: local\n";
    const std::string dir = "/tmp/kthw-bench-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/hosts.yaml") << docs;
    std::istringstream none;
    c->loaded = kthw::resources::loadDesiredState({KTHW_SOURCE_DIR "/examples/lab", dir}, none);
    if (!c->loaded.ok()) {
      for (const auto& e : c->loaded.errors) std::fprintf(stderr, "%s\n", e.toString().c_str());
      std::abort();
    }
    auto store =
        kthw::runtime::SecretStore::open(dir + "/store", kthw::runtime::SecretStore::Mode::kWrite);
    if (!store.ok()) std::abort();
    c->store = std::move(store).value();
    const auto now = std::chrono::system_clock::now();
    for (const auto& b : c->loaded.state.bundles) {
      c->material[b.name()] =
          *kthw::reconcilers::prepareMaterial(c->loaded.state, b, c->store.get(), true, now);
    }
    c->binaries = *kthw::engine::loadBinaries(c->loaded.state);
    c->basics = std::make_unique<kthw::reconcilers::HostBasicsReconciler>();
    c->bundles = std::make_unique<kthw::reconcilers::CertificateBundleReconciler>(c->loaded.state,
                                                                                  c->material);
    c->services = std::make_unique<kthw::reconcilers::ControlPlaneServiceReconciler>(
        c->loaded.state, c->binaries);
    c->balancers =
        std::make_unique<kthw::reconcilers::LoadBalancerReconciler>(c->loaded.state, c->routes);
    const std::vector<const kthw::reconcilers::HostScopedReconciler*> all = {
        c->basics.get(), c->bundles.get(), c->services.get(), c->balancers.get()};
    auto fake = std::make_shared<kthw::testing::FakeHost>();
    kthw::engine::PassOptions options;
    options.hosts = {"controller-0"};
    kthw::engine::applyHosts(
        c->loaded.state, all, [&](const kthw::resources::Host&) { return fake; }, options);
    c->host = c->loaded.state.findHost("controller-0");
    kthw::runtime::ProbeRequest request;
    for (const auto* r : all) r->observe(*c->host, request);
    c->observed = *fake->probe(request);
    for (const std::string& u : request.units) {
      c->observed.units[u] = {"loaded", "active", "running", "enabled", "1"};
    }
    std::filesystem::remove_all(dir);
    return c;
  }();
  return *built;
}

void diffConverged(benchmark::State& state, const kthw::reconcilers::HostScopedReconciler& r) {
  Cluster& c = cluster();
  size_t actions = 0;
  for (auto _ : state) {
    kthw::reconcilers::HostPlan plan;
    r.diff(*c.host, c.observed, plan);
    actions = plan.actions.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["actions"] = static_cast<double>(actions);
}

void certificateBundleDiffConverged(benchmark::State& s) { diffConverged(s, *cluster().bundles); }
void controlPlaneServiceDiffConverged(benchmark::State& s) {
  diffConverged(s, *cluster().services);
}
void hostBasicsDiffLab(benchmark::State& s) { diffConverged(s, *cluster().basics); }
BENCHMARK(certificateBundleDiffConverged)->Unit(benchmark::kMicrosecond);
BENCHMARK(controlPlaneServiceDiffConverged)->Unit(benchmark::kMicrosecond);
BENCHMARK(hostBasicsDiffLab)->Unit(benchmark::kMicrosecond);

void loadBalancerDiffConverged(benchmark::State& state) {
  Cluster& c = cluster();
  static kthw::runtime::ProbeResult observed = [&] {
    const std::vector<const kthw::reconcilers::HostScopedReconciler*> all = {c.basics.get(),
                                                                             c.balancers.get()};
    auto fake = std::make_shared<kthw::testing::FakeHost>();
    kthw::engine::PassOptions options;
    options.hosts = {"lb-0"};
    kthw::engine::applyHosts(
        c.loaded.state, all, [&](const kthw::resources::Host&) { return fake; }, options);
    kthw::runtime::ProbeRequest request;
    for (const auto* r : all) r->observe(*c.loaded.state.findHost("lb-0"), request);
    auto o = *fake->probe(request);
    for (const std::string& u : request.units)
      o.units[u] = {"loaded", "active", "running", "enabled", "1"};
    return o;
  }();
  const kthw::resources::Host& lb = *c.loaded.state.findHost("lb-0");
  size_t actions = 0;
  for (auto _ : state) {
    kthw::reconcilers::HostPlan plan;
    c.balancers->diff(lb, observed, plan);
    actions = plan.actions.size();
    benchmark::DoNotOptimize(plan);
  }
  state.counters["actions"] = static_cast<double>(actions);
}
BENCHMARK(loadBalancerDiffConverged)->Unit(benchmark::kMicrosecond);

}  // namespace converged
