#include "cli/converge_args.h"

#include <algorithm>

#include "cli/saved_plan.h"
#include "engine/pass_context.h"
#include "resources/json.h"
#include "runtime/logging.h"

namespace kthw::cli {

const std::vector<OptionSpec>& convergeCommonOptions() {
  static const std::vector<OptionSpec> options = {
      {"--filename", "-f", true, true, "PATH",
       "File or directory of YAML documents (repeatable; - reads stdin)"},
      {"--host", "", true, true, "NAME", "Only these hosts (repeatable)"},
      {"--kind", "", true, true, "KIND",
       "Only resources of these kinds (repeatable): Host, CertificateBundle, "
       "ControlPlaneService, LoadBalancer, ClusterRole, ClusterRoleBinding"},
      {"--parallel", "", true, false, "N", "Hosts handled at once (default 32)"},
      {"--verbose", "-v", false, false, "", "Log every probe, fetch and action with timings"},
      {"--kubeconfig", "", true, false, "FILE",
       "Reach the API server as this kubeconfig says (default: the desired state's admin)"},
      {"--max-clock-skew", "", true, false, "SECONDS",
       "A host clock further than this from this machine's is a problem (default 30)"},
  };
  return options;
}

// Parses, loads and validates; returns the exit code on failure.
std::optional<int> prepare(const char* command, const ParsedArgs& args, Io io, Prepared& out) {
  if (!args.has("--filename") || !args.positional.empty()) {
    io.err << "kthw " << command << ": give the documents with -f PATH\n";
    return kExitUsage;
  }
  resources::LoadResult documents = resources::loadPaths(args.all("--filename"), io.in);
  std::vector<std::string> documentsJson;
  for (const resources::Document& d : documents.documents) {
    documentsJson.push_back(resources::toJson(d.root));
  }
  out.documentsSha256 = documentsSha256(documentsJson);
  out.loaded = resources::buildDesiredState(std::move(documents));
  for (const std::string& line : out.loaded.warningLines()) io.err << line << "\n";
  if (!out.loaded.ok()) {
    for (const std::string& line : out.loaded.errorLines()) io.err << line << "\n";
    io.err << "kthw " << command << ": the desired state is invalid; nothing was done\n";
    return kExitUsage;
  }
  for (const std::string& h : args.all("--host")) {
    if (out.loaded.state.findHost(h) == nullptr) {
      io.err << "kthw " << command << ": no Host named \"" << h << "\"\n";
      return kExitUsage;
    }
  }
  for (const std::string& k : args.all("--kind")) {
    const bool apiKind = k == "ClusterRole" || k == "ClusterRoleBinding";
    if (!apiKind && std::find(engine::hostKinds().begin(), engine::hostKinds().end(), k) ==
                        engine::hostKinds().end()) {
      io.err << "kthw " << command << ": unknown --kind " << k
             << " (known: Host, CertificateBundle, ControlPlaneService, LoadBalancer, "
                "ClusterRole, ClusterRoleBinding)\n";
      return kExitUsage;
    }
  }
  out.options.hosts = args.all("--host");
  out.options.kinds = args.all("--kind");
  const auto parallel = parseCount(args.get("--parallel", "32"), 4);
  if (!parallel || *parallel == 0) {
    io.err << "kthw " << command << ": --parallel needs a positive number\n";
    return kExitUsage;
  }
  out.options.parallelism = *parallel;
  const auto skew = parseCount(args.get("--max-clock-skew", "30"), 6);
  if (!skew) {
    io.err << "kthw " << command << ": --max-clock-skew needs a number of seconds\n";
    return kExitUsage;
  }
  out.options.maxClockSkew = std::chrono::seconds(*skew);
  runtime::initLogging(args.has("--verbose") ? runtime::Verbosity::kDebug
                                             : runtime::Verbosity::kNormal);
  return std::nullopt;
}

std::string refusal(const std::vector<std::string>& changes) {
  std::string text;
  for (const std::string& c : changes) text += c + "; ";
  return text + "run kthw diff --out-plan again";
}

// Before the first apply (or with an emptied secret store) certificates are still to be issued:
// that is drift apply repairs, not an unreachable host, and the checks that need the material
// (a load balancer's route, the RBAC comparison) wait for it. One line each; empty when nothing
// is pending.

}  // namespace kthw::cli
