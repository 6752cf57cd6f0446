#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/host_pass.h"
#include "resources/desired_state.h"

// What kthw diff and kthw apply share: their common options and the loading of the documents.
namespace kthw::cli {

// -f, --host, --kind, --parallel, -v, --kubeconfig, --max-clock-skew.
const std::vector<OptionSpec>& convergeCommonOptions();

struct Prepared {
  resources::LoadOutcome loaded;
  std::string documentsSha256;
  engine::PassOptions options;
};

// Parses, loads and validates; returns the exit code on failure.
std::optional<int> prepare(const char* command, const ParsedArgs& args, Io io, Prepared& out);

// "a changed since the plan; b was not in the plan; run kthw diff --out-plan again"
std::string refusal(const std::vector<std::string>& changes);

}  // namespace kthw::cli
