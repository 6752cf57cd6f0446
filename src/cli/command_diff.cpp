// kthw diff: one probe per host and a pure diff, printed; nothing is changed.
#include <algorithm>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/apply_output.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/converge_args.h"
#include "cli/plan_output.h"
#include "cli/saved_plan.h"
#include "engine/api_access.h"
#include "engine/conditions.h"
#include "engine/converge.h"
#include "engine/host_pass.h"
#include "engine/pass_context.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/rbac_reconciler.h"
#include "resources/desired_state.h"
#include "resources/json.h"
#include "runtime/logging.h"

namespace kthw::cli {
namespace {

std::vector<OptionSpec> diffOptions() {
  auto o = convergeCommonOptions();
  o.push_back({"--output", "-o", true, false, "FORMAT", "text (default) or json"});
  o.push_back({"--color", "", true, false, "WHEN", "auto (default), always or never"});
  o.push_back({"--out-plan", "", true, false, "FILE",
               "Save this plan (actions and hashes, no content) to review and replay"});
  o.push_back({"--help", "-h", false, false, "", "Show this help"});
  return o;
}

constexpr const char* kDiffHelp = R"(Show what `kthw apply` would change, without changing anything.

Each selected host is observed with one batched probe (hosts in parallel); the
desired state is compared with what is there, and the plan is printed per host:
directories, /etc/hosts entries (kthw's managed block), sysctls, kernel
modules, certificate, key, kubeconfig and encryption config files, with
unified diffs for text files. Key material is never printed: certificates and
keys appear as summaries (subject, SANs, not-after, sha256 fingerprint), with
the reason a certificate would be reissued. diff never writes, not even to the
secret store, except to load into it a newer spec.sealedStore file of its
CertificateBundle (the local store is that file's cache).

Usage:
  kthw diff -f PATH [--host NAME] [--kind KIND] [-o json] [--out-plan FILE]

With --out-plan, the plan is also saved (atomically, mode 0600) for
`kthw apply --plan FILE`: per host every action with the host's sha256 it is
guarded by and the sha256 of what it would write, the sha256 of the desired
state documents, and the RBAC actions. Never the content itself.

Options:
)";

constexpr const char* kDiffExit = R"(
Exit status, as kubectl diff: 0 no drift, 1 drift, 2 usage error or invalid
desired state, 3 a host or the API server could not be observed, or the
secret store could not be read.
)";

void printRbacPlan(const reconcilers::RbacPlan& plan, const std::string& server, const Style& style,
                   std::ostream& out) {
  out << style.bold() << "API server" << style.reset() << " (" << server << ")\n";
  if (plan.actions.empty()) out << "  " << style.green() << "no drift" << style.reset() << "\n";
  for (const reconcilers::RbacAction& a : plan.actions) {
    out << "  " << style.yellow() << reconcilers::rbacActionName(a.type) << " " << a.kind << "/"
        << a.name << style.reset() << "  " << a.reason << "\n";
    std::istringstream diff(a.diff);
    for (std::string line; std::getline(diff, line);) {
      const char* color = line.starts_with("+") && !line.starts_with("+++")   ? style.green()
                          : line.starts_with("-") && !line.starts_with("---") ? style.red()
                                                                              : "";
      out << "      " << color << line << (*color != 0 ? style.reset() : "") << "\n";
    }
  }
}

std::unique_ptr<engine::PassContext> context(const char* command, const Prepared& prepared,
                                             bool generate, Io io) {
  auto ctx = engine::PassContext::create(prepared.loaded.state, generate,
                                         std::chrono::system_clock::now());
  if (!ctx.ok()) {
    io.err << "kthw " << command << ": " << ctx.status().message() << "\n";
    return nullptr;
  }
  return std::move(*ctx);
}

// "a changed since the plan; b was not in the plan; run kthw diff --out-plan again"
std::vector<std::string> pendingNotes(
    const Prepared& prepared, const engine::PassContext& ctx,
    const std::optional<StatusOr<runtime::ApiCredentials>>& creds) {
  std::vector<std::string> notes;
  const auto& kinds = prepared.options.kinds;
  if (kinds.empty() || std::find(kinds.begin(), kinds.end(), "CertificateBundle") != kinds.end()) {
    notes = ctx.pendingMaterial(prepared.loaded.state);
  }
  if (engine::passWantsRoutes(prepared.options)) {
    for (std::string& line : ctx.routesAwaitingMaterial(prepared.loaded.state)) {
      notes.push_back(std::move(line));
    }
  }
  // apiCredentials says FailedPrecondition exactly when the admin certificate is to be issued.
  if (creds && !creds->ok() && creds->status().code() == StatusCode::kFailedPrecondition) {
    notes.push_back("RBAC: not compared: " + creds->status().message());
  }
  return notes;
}

struct RbacDiff {
  bool compared = false;  // the API server answered
  bool drift = false;
  std::optional<reconcilers::RbacPlan> plan;
};

// Compares the desired RBAC objects with the API server's, printing the plan when asked.
RbacDiff diffRbac(const resources::DesiredState& state, const runtime::ApiCredentials& creds,
                  bool print, const Style& style, Io io) {
  runtime::HttpsApiClient api(creds);
  Status ready = api.ready();
  auto plan =
      ready.ok() ? reconcilers::planRbac(state, api) : StatusOr<reconcilers::RbacPlan>(ready);
  if (!plan.ok()) {
    io.err << "kthw diff: RBAC not compared: the API server at " << creds.server
           << " is not reachable or not ready: " << plan.status().message() << "\n";
    return {};
  }
  if (print) printRbacPlan(*plan, creds.server, style, io.out);
  return {true, !plan->actions.empty(), *plan};
}

// One line per host as its pass starts (r null), and one per action run.
}  // namespace

int runDiff(const std::vector<std::string>& args, Io io) {
  const auto specs = diffOptions();
  int code = kExitOk;
  auto parsed = parseCommand("diff", args, specs, kDiffHelp, kDiffExit, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "text");
  const std::string color = parsed->get("--color", "auto");
  if ((output != "text" && output != "json") ||
      (color != "auto" && color != "always" && color != "never")) {
    io.err << "kthw diff: --output is text or json, --color is auto, always or never\n";
    return kExitUsage;
  }
  Prepared prepared;
  if (auto exit = prepare("diff", *parsed, io, prepared)) return *exit;
  prepared.options.fetchDiffContent = true;
  auto ctx = context("diff", prepared, false, io);
  if (!ctx) return kExitError;
  for (const std::string& line : ctx->sealedLoads()) {
    (output == "json" ? io.err : io.out) << line << "\n";
  }
  if (engine::passWantsRoutes(prepared.options)) ctx->checkRoutes(prepared.loaded.state);
  std::vector<engine::HostOutcome> outcomes;
  if (engine::passWantsHosts(prepared.options)) {
    outcomes = engine::planHosts(prepared.loaded.state, ctx->reconcilers(), engine::connectHost,
                                 prepared.options);
  }
  if (output == "json") {
    printPlansJson(outcomes, io.out);
  } else if (!outcomes.empty()) {
    printPlans(outcomes, styleFor(color), io.out);
  }
  bool drift = false;
  bool unreachable = false;
  SavedPlan saved;
  saved.documentsSha256 = prepared.documentsSha256;
  for (const auto& o : outcomes) saved.hosts.push_back(plannedHost(o.plan, o.reach.ok()));
  std::optional<StatusOr<runtime::ApiCredentials>> creds;
  if (engine::passWantsRbac(prepared.loaded.state, prepared.options)) {
    creds =
        engine::apiCredentials(prepared.loaded.state, ctx->material(), parsed->get("--kubeconfig"));
  }
  // Text goes to stdout with the plan; beside JSON, to stderr.
  if (const auto pending = pendingNotes(prepared, *ctx, creds); !pending.empty()) {
    drift = true;
    std::ostream& notes = output == "json" ? io.err : io.out;
    notes << "material to be issued on apply:\n";
    for (const std::string& line : pending) notes << "  " << line << "\n";
  }
  if (creds && creds->ok()) {
    const RbacDiff rbac =
        diffRbac(prepared.loaded.state, **creds, output != "json", styleFor(color), io);
    unreachable = unreachable || !rbac.compared;
    drift = drift || rbac.drift;
    if (rbac.plan) saved.rbac = plannedRbac(*rbac.plan);
  } else if (creds && creds->status().code() != StatusCode::kFailedPrecondition) {
    io.err << "kthw diff: RBAC not compared: " << creds->status().message() << "\n";
    unreachable = true;
  }
  for (const auto& o : outcomes) {
    unreachable = unreachable || !o.reach.ok();
    drift = drift || (o.reach.ok() && !o.plan.converged());
  }
  if (parsed->has("--out-plan")) {
    if (Status s = writeSavedPlan(parsed->get("--out-plan"), saved); !s.ok()) {
      io.err << "kthw diff: the plan was not saved: " << s.message() << "\n";
      return kExitError;
    }
  }
  if (unreachable) return kExitError;
  return drift ? kExitFindings : kExitOk;
}

}  // namespace kthw::cli
