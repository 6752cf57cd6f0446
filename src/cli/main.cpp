#include <csignal>
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
  diff        Show what apply would change on the hosts (exit 1 on drift)
  apply       Converge the hosts to the desired state
  render      Show, per host, everything the desired state places there
  run         Keep everything converged, as a daemon (watches -f, serves /metrics)
  status      Show what a running `kthw run` reports
  verify      Check the live cluster: etcd members, health, encryption, RBAC
  kubeconfig  Print the operator's kubeconfig (load balancer, admin certificate)
  certs       List certificates: expiry, chain, and what each host has installed
  version     Print the version
  help        Show help for a command: kthw help validate

Examples:
  kthw validate -f examples/ha-cluster
  kthw render -f examples/ha-cluster --host controller-0
  kthw diff -f cluster/ --host controller-1
  kthw apply -f cluster/
  kthw run -f cluster/   # then, elsewhere: kthw status
  kthw verify -f cluster/
  kthw kubeconfig -f cluster/ --out ~/.kube/kthw
  kthw certs -f cluster/

Run 'kthw COMMAND --help' for the options of a command.
)";

}  // namespace

int main(int argc, char** argv) {
  // A host that closes a connection must not kill kthw; the write just fails.
  std::signal(SIGPIPE, SIG_IGN);
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
  if (command == "diff") return kthw::cli::runDiff(args, io);
  if (command == "apply") return kthw::cli::runApply(args, io);
  if (command == "run") return kthw::cli::runRun(args, io);
  if (command == "status") return kthw::cli::runStatus(args, io);
  if (command == "verify") return kthw::cli::runVerify(args, io);
  if (command == "kubeconfig") return kthw::cli::runKubeconfig(args, io);
  if (command == "certs") return kthw::cli::runCerts(args, io);
  std::cerr << "kthw: unknown command \"" << command << "\"\n\n" << kUsage;
  return kthw::cli::kExitUsage;
}
