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
  adopt       Import the CA, key pairs and encryption keys the hosts already run on
  backup      Write the secret store as one age-encrypted archive
  restore     Replace the secret store with the content of such an archive
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
  kthw adopt -f cluster/ --dry-run
  kthw backup -f cluster/ -o cluster.age -r age1...
  kthw restore -f cluster/ cluster.age -i key.txt

Exit status: 0 success; 1 findings (validate, render: invalid documents; diff:
drift; apply, status: something not converged or not Ready; verify: a failed
check; certs: a certificate finding; kubeconfig, backup: nothing issued yet;
adopt, restore: refused, nothing written); 2 usage
error (diff, apply, verify, kubeconfig, certs: also invalid documents, as
kubectl diff); 3 something could not be reached, read or written.
'kthw help COMMAND' lists the codes of COMMAND.

Run 'kthw help COMMAND' or 'kthw COMMAND --help' for the options of a command.
)";

constexpr const char* kHelpHelp = R"(Show help for a command, or the list of commands.

Usage:
  kthw help [COMMAND]

Exit status: 0 help shown, 2 unknown command.
)";

using Runner = int (*)(const std::vector<std::string>&, kthw::cli::Io);

struct Command {
  const char* name;
  Runner run;
};

constexpr Command kCommands[] = {
    {"validate", kthw::cli::runValidate},
    {"render", kthw::cli::runRender},
    {"diff", kthw::cli::runDiff},
    {"apply", kthw::cli::runApply},
    {"run", kthw::cli::runRun},
    {"status", kthw::cli::runStatus},
    {"version", kthw::cli::runVersion},
    {"verify", kthw::cli::runVerify},
    {"kubeconfig", kthw::cli::runKubeconfig},
    {"certs", kthw::cli::runCerts},
    {"adopt", kthw::cli::runAdopt},
    {"backup", kthw::cli::runBackup},
    {"restore", kthw::cli::runRestore},
};

Runner find(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run;
  }
  return nullptr;
}

int unknownCommand(const std::string& name) {
  std::cerr << "kthw: unknown command \"" << name << "\"\n\n" << kUsage;
  return kthw::cli::kExitUsage;
}

// `kthw help`, `kthw help COMMAND`: each command prints its own help, as for COMMAND --help.
int help(const std::vector<std::string>& args, kthw::cli::Io io) {
  if (args.empty()) {
    io.out << kUsage;
    return kthw::cli::kExitOk;
  }
  if (args.size() > 1) {
    io.err << "kthw help: give one command, e.g. kthw help validate\n";
    return kthw::cli::kExitUsage;
  }
  const std::string& name = args.front();
  if (name == "help" || name == "--help" || name == "-h") {
    io.out << kHelpHelp;
    return kthw::cli::kExitOk;
  }
  const Runner run = find(name);
  if (run == nullptr) return unknownCommand(name);
  return run({"--help"}, io);
}

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
  if (command == "help" || command == "--help" || command == "-h") return help(args, io);
  if (command == "--version") command = "version";
  const Runner run = find(command);
  if (run == nullptr) return unknownCommand(command);
  return run(args, io);
}
