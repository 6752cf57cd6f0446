// The pure steps of a pass: loading and validating documents, rendering units, parsing a
// probe, and the Host diff on a converged host.
#include <benchmark/benchmark.h>

#include <sstream>

#include "reconcilers/host_reconciler.h"
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
