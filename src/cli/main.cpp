#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_args.h"
#include "cli/commands.h"

namespace {

constexpr const char* kUsage = R"(kthw - declarative Kubernetes control plane on plain hosts

kthw reads the desired state of a cluster from YAML documents (kinds Host,
CertificateBundle, ControlPlaneService, LoadBalancer, and native ClusterRole and
ClusterRoleBinding) and converges hosts and the API server towards it.

Usage:
  kthw COMMAND [OPTIONS]

Commands:
  validate    Check documents against the schemas and each other (no I/O)
  render      Show, per host, everything the desired state places there
  version     Print the version
  help        Show help for a command: kthw help validate

Examples:
  kthw validate -f examples/ha-cluster
  kthw render -f examples/ha-cluster --host controller-0

Run 'kthw COMMAND --help' for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  kthw::cli::Io io{std::cin, std::cout, std::cerr};
  if (args.empty()) {
    std::cerr << kUsage;
    return kthw::cli::kExitUsage;
  }
  std::string command = args.front();
  args.erase(args.begin());
  if (command == "help" || command == "--help" || command == "-h") {
    if (args.empty()) {
      std::cout << kUsage;
      return kthw::cli::kExitOk;
    }
    command = args.front();
    args = {"--help"};
  }
  if (command == "version" || command == "--version") {
    std::cout << "kthw " << KTHW_VERSION << "\n";
    return kthw::cli::kExitOk;
  }
  if (command == "validate") return kthw::cli::runValidate(args, io);
  if (command == "render") return kthw::cli::runRender(args, io);
  std::cerr << "kthw: unknown command \"" << command << "\"\n\n" << kUsage;
  return kthw::cli::kExitUsage;
}
