#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"

namespace kthw::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp = R"(Print the version of kthw.

Usage:
  kthw version

Options:
)";

constexpr const char* kExitCodes = R"(
Exit status: 0 version printed, 2 usage error.
)";

}  // namespace

int runVersion(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("version", args, kOptions, kHelp, kExitCodes, io.out, io.err, code);
  if (!parsed) return code;
  if (!parsed->positional.empty()) {
    io.err << "kthw version: takes no arguments\n";
    return kExitUsage;
  }
  io.out << "kthw " << KTHW_VERSION << "\n";
  return kExitOk;
}

}  // namespace kthw::cli
