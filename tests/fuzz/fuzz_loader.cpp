#include <cstddef>
#include <cstdint>
#include <string_view>

#include "reconcilers/placement.h"
#include "resources/desired_state.h"
#include "resources/yaml_loader.h"

// Any byte string must be rejected or accepted without a crash, hang or unbounded allocation;
// an accepted state must also render.
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
  }
  return 0;
}
