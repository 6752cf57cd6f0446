#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "reconcilers/placement.h"
#include "render_invariants.h"
#include "resources/desired_state.h"
#include "resources/yaml_loader.h"

// Any byte string must be rejected or accepted without a crash, hang or unbounded allocation;
// an accepted state must also render, and what it renders — every unit, kubeconfig and
// encryption config — must read back with the structure the renderer meant (render_invariants.h):
// no value may add a directive, a flag, an argument or a key.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kthw;
  resources::LoadLimits limits;
  limits.maxNodes = 20000;
  resources::LoadResult parsed = resources::parseYaml(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yaml", limits);
  resources::LoadOutcome outcome = resources::buildDesiredState(std::move(parsed.documents));
  if (outcome.ok() && parsed.errors.empty()) {
    resources::Diagnostics problems;
    (void)reconcilers::placeDesiredState(outcome.state, problems);
    const std::string violation = fuzz::renderViolation(outcome.state);
    if (!violation.empty()) {
      std::fprintf(stderr, "render invariant violated: %s\n", violation.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
