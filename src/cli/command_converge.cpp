// kthw diff and kthw apply: one probe per host, a pure diff, and (for apply) the plan executed.
#include <algorithm>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/apply_output.h"
#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/plan_output.h"
#include "cli/saved_plan.h"
#include "engine/api_access.h"
#include "engine/conditions.h"
#include "engine/host_pass.h"
#include "engine/pass_context.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/rbac_reconciler.h"
#include "resources/desired_state.h"
#include "resources/json.h"
#include "runtime/logging.h"

namespace kthw::cli {
namespace {

using engine::PassOptions;

const std::vector<OptionSpec> kCommonOptions = {
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

std::vector<OptionSpec> diffOptions() {
  auto o = kCommonOptions;
  o.push_back({"--output", "-o", true, false, "FORMAT", "text (default) or json"});
  o.push_back({"--color", "", true, false, "WHEN", "auto (default), always or never"});
  o.push_back({"--out-plan", "", true, false, "FILE",
               "Save this plan (actions and hashes, no content) to review and replay"});
  o.push_back({"--help", "-h", false, false, "", "Show this help"});
  return o;
}

std::vector<OptionSpec> applyOptions() {
  auto o = kCommonOptions;
  o.push_back({"--api-timeout", "", true, false, "SECONDS",
               "How long to wait for the API server to be ready (default 120)"});
  o.push_back({"--lock-wait", "", true, false, "SECONDS",
               "Wait this long for another writer's host lock (default 0: report the holder)"});
  o.push_back({"--output", "-o", true, false, "FORMAT",
               "text (default) or json: the results as one JSON document, progress on stderr"});
  o.push_back(
      {"--plan", "", true, false, "FILE",
       "Apply only what this saved plan (diff --out-plan) shows; changed hosts are refused"});
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

constexpr const char* kApplyHelp = R"(Converge the hosts to the desired state.

Each selected host is observed with one probe and its plan executed in order,
hosts in parallel, with a progress line per action. Writes are atomic (temp
file, owner and mode set, fsync, rename). One unreachable host does not stop
the others. A second apply on a converged host writes nothing.

When a CertificateBundle has a spec.sealedStore, its secret store is first
loaded from the sealed file (refused when the identity does not open it, the
file is tampered with or another cluster's, or the local store holds changes
never sealed while the file changed too), and after the pass the store is
sealed into the file when it changed: one line says so; commit the file.

Before its first change to a host, apply takes kthw's writer lock there
(/run/kthw/lock, holding owner, pid and time; a lock older than 15 minutes is
stale and taken over). When another apply or `kthw run` holds it, the host is
left unchanged and the holder is reported, or apply waits --lock-wait seconds.

Usage:
  kthw apply -f PATH [--host NAME] [--kind KIND] [--plan FILE] [-o json]

With -o json, the results are one JSON document on stdout once apply ends:
per host whether it was reached, and every action (type, resource, target,
summary, reason as diff -o json gives them) with its outcome (done, failed,
skipped, or not-run on a refused or locked host) and error; the hosts --plan
refused, problems, certificates issued, the RBAC API writes, the load
balancers' routes, each resource's conditions, and the totals. No content is
ever shown. The progress lines go to stderr; the exit status is the same.
When apply stops before it starts (invalid documents, documents that differ
from --plan's, an unreadable secret store), stdout stays empty and stderr says
why.

With --plan FILE (saved by `kthw diff --out-plan FILE`), apply plans again and
changes a host only when its actions and their hashes are those of the saved
plan; a host whose plan changed is refused and the change named, the other
hosts go on. Documents that differ from the plan's refuse the whole apply.

Options:
)";

constexpr const char* kApplyExit = R"(
Exit status: 0 everything selected converged and Ready, 1 an action failed, a
host or the API server could not be reached, a resource was left not Ready, the
secret store could not be used, or a host was refused because its plan changed
(or the documents differ from the saved plan's), 2 usage error, invalid desired
state or an unreadable plan file.
)";

struct Prepared {
  resources::LoadOutcome loaded;
  std::string documentsSha256;
  engine::PassOptions options;
};

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

// Whether this run reconciles hosts, and RBAC objects through the API server.
bool wantsHosts(const PassOptions& o) {
  return o.kinds.empty() || std::any_of(o.kinds.begin(), o.kinds.end(), [](const std::string& k) {
           return k != "ClusterRole" && k != "ClusterRoleBinding";
         });
}

// Route checks go through the load balancer: only when that kind is part of the run.
bool wantsRoutes(const PassOptions& o) {
  return o.hosts.empty() && (o.kinds.empty() || std::find(o.kinds.begin(), o.kinds.end(),
                                                          "LoadBalancer") != o.kinds.end());
}

bool wantsRbac(const resources::DesiredState& state, const PassOptions& o) {
  return !state.rbac.empty() && o.hosts.empty() &&
         (o.kinds.empty() || std::any_of(o.kinds.begin(), o.kinds.end(), [](const std::string& k) {
            return k == "ClusterRole" || k == "ClusterRoleBinding";
          }));
}

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
std::string refusal(const std::vector<std::string>& changes) {
  std::string text;
  for (const std::string& c : changes) text += c + "; ";
  return text + "run kthw diff --out-plan again";
}

// Posts the RBAC objects once the API server is ready; a conflict is retried with a fresh read.
// Progress lines go to `human`.
RbacOutcome applyRbacObjects(const Prepared& prepared, engine::PassContext& ctx,
                             const std::string& kubeconfig, std::chrono::seconds timeout,
                             const SavedPlan* saved, std::ostream& human) {
  RbacOutcome outcome;
  auto creds = engine::apiCredentials(prepared.loaded.state, ctx.material(), kubeconfig);
  if (!creds.ok()) {
    outcome.status = creds.status();
    return outcome;
  }
  outcome.server = creds->server;
  outcome.identity = creds->source;
  runtime::HttpsApiClient api(*creds);
  Status ready =
      engine::waitForApiServer(api, timeout, [&](const Status& s, std::chrono::milliseconds d) {
        human << "RBAC: WaitingForAPIServer at " << creds->server << " (" << s.message()
              << "); retrying in " << d.count() << " ms\n";
        human.flush();
      });
  auto plan = ready.ok() ? reconcilers::planRbac(prepared.loaded.state, api)
                         : StatusOr<reconcilers::RbacPlan>(ready);
  if (!plan.ok()) {
    outcome.status = plan.status();
    return outcome;
  }
  if (saved != nullptr) {
    const auto changes = rbacPlanChanges(saved->rbac, plannedRbac(*plan));
    if (!changes.empty()) {
      outcome.status = failedPrecondition(refusal(changes));
      return outcome;
    }
  }
  const auto results = reconcilers::applyRbac(*plan, api);
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& a = plan->actions[i];
    outcome.writes.push_back({reconcilers::rbacActionName(a.type), a.kind, a.name, results[i]});
    human << "RBAC: " << (results[i].ok() ? "done " : "FAILED ")
          << reconcilers::rbacActionName(a.type) << " " << a.kind << "/" << a.name
          << (results[i].ok() ? "" : ": " + results[i].message()) << "\n";
    if (!results[i].ok() && outcome.status.ok()) outcome.status = results[i];
  }
  human << "RBAC: " << plan->actions.size() << " API write(s) planned against " << creds->server
        << " as " << creds->source << "\n";
  return outcome;
}

// Before the first apply (or with an emptied secret store) certificates are still to be issued:
// that is drift apply repairs, not an unreachable host, and the checks that need the material
// (a load balancer's route, the RBAC comparison) wait for it. One line each; empty when nothing
// is pending.
std::vector<std::string> pendingNotes(
    const Prepared& prepared, const engine::PassContext& ctx,
    const std::optional<StatusOr<runtime::ApiCredentials>>& creds) {
  std::vector<std::string> notes;
  const auto& kinds = prepared.options.kinds;
  if (kinds.empty() || std::find(kinds.begin(), kinds.end(), "CertificateBundle") != kinds.end()) {
    notes = ctx.pendingMaterial(prepared.loaded.state);
  }
  if (wantsRoutes(prepared.options)) {
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
void printProgress(const engine::HostOutcome& o, const engine::ActionResult* r, std::ostream& out) {
  const std::string& host = o.host->name();
  if (r == nullptr) {
    if (!o.reach.ok()) {
      out << host << ": unreachable: " << o.reach.message() << "\n";
    } else if (!o.refused.empty()) {
      out << host << ": REFUSED, nothing changed: " << o.refused << "\n";
    } else if (!o.lockedBy.empty()) {
      out << host << ": " << o.plan.actions.size()
          << " change(s) NOT made: the kthw lock is held by " << o.lockedBy << "\n";
    } else if (o.plan.actions.empty()) {
      out << host << ": up to date\n";
    } else {
      out << host << ": " << o.plan.actions.size() << " change(s)\n";
    }
    for (const std::string& p : o.plan.problems) out << host << ": problem: " << p << "\n";
  } else if (r->skipped) {
    // The status names the step that failed and why.
    out << host << ": skipped " << r->action.summary << ": " << r->status.message() << "\n";
  } else if (r->status.ok()) {
    out << host << ": done " << r->action.summary << "\n";
  } else {
    out << host << ": FAILED " << r->action.summary << ": " << r->status.message() << "\n";
  }
  out.flush();
}

// Each resource's Ready condition, and Degraded's message when it is set; whether all are Ready.
// A resource a problem keeps from Ready (flags its binary refuses) fails the apply too.
bool printConditions(const std::map<std::string, engine::ConditionSet>& conditions,
                     std::ostream& out) {
  bool allReady = true;
  for (const auto& [resource, set] : conditions) {
    const engine::Condition* ready = set.get("Ready");
    const engine::Condition* degraded = set.get("Degraded");
    allReady = allReady && ready->status == engine::ConditionStatus::kTrue;
    out << "  " << resource << ": Ready=" << engine::conditionStatusName(ready->status) << " ("
        << ready->reason << ")";
    if (degraded != nullptr && degraded->status == engine::ConditionStatus::kTrue) {
      out << ", Degraded: " << degraded->message;
    }
    out << "\n";
  }
  return allReady;
}

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
  if (wantsRoutes(prepared.options)) ctx->checkRoutes(prepared.loaded.state);
  std::vector<engine::HostOutcome> outcomes;
  if (wantsHosts(prepared.options)) {
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
  if (wantsRbac(prepared.loaded.state, prepared.options)) {
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

int runApply(const std::vector<std::string>& args, Io io) {
  const auto specs = applyOptions();
  int code = kExitOk;
  auto parsed = parseCommand("apply", args, specs, kApplyHelp, kApplyExit, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "text");
  if (output != "text" && output != "json") {
    io.err << "kthw apply: --output is text or json\n";
    return kExitUsage;
  }
  // Beside the JSON document on stdout, the progress lines go to stderr.
  std::ostream& human = output == "json" ? io.err : io.out;
  Prepared prepared;
  if (auto exit = prepare("apply", *parsed, io, prepared)) return *exit;
  const auto lockWait = parseCount(parsed->get("--lock-wait", "0"), 6);
  if (!lockWait) {
    io.err << "kthw apply: --lock-wait needs a number of seconds\n";
    return kExitUsage;
  }
  prepared.options.lockWait = std::chrono::seconds(*lockWait);
  prepared.options.lockOwner = engine::lockOwner("apply");
  std::optional<SavedPlan> saved;
  if (parsed->has("--plan")) {
    auto read = readSavedPlan(parsed->get("--plan"));
    if (!read.ok()) {
      io.err << "kthw apply: " << read.status().message() << "\n";
      return kExitUsage;
    }
    saved = std::move(*read);
    if (saved->documentsSha256 != prepared.documentsSha256) {
      io.err << "kthw apply: the documents differ from the plan's (sha256 "
             << saved->documentsSha256.substr(0, 12) << "\u2026 now "
             << prepared.documentsSha256.substr(0, 12)
             << "\u2026); nothing was done; run kthw diff --out-plan again\n";
      return kExitFindings;
    }
    prepared.options.admit = [&saved](const reconcilers::HostPlan& plan) {
      const auto changes = hostPlanChanges(saved->findHost(plan.host), plannedHost(plan, true));
      return changes.empty() ? okStatus() : failedPrecondition(refusal(changes));
    };
  }
  std::mutex printing;
  auto progress = [&](const engine::HostOutcome& o, const engine::ActionResult* r) {
    std::lock_guard<std::mutex> lock(printing);
    printProgress(o, r, human);
  };
  auto ctx = context("apply", prepared, true, io);
  if (!ctx) return kExitFindings;
  ApplyReport report;
  for (const std::string& line : ctx->sealedLoads()) human << line << "\n";
  for (const auto& [bundle, material] : ctx->material()) {
    for (const auto& [name, reason] : material.reasons) {
      human << "CertificateBundle/" << bundle << ": issued " << name << " (" << reason << ")\n";
      report.issued.push_back({bundle, name, reason});
    }
  }
  if (wantsHosts(prepared.options)) {
    report.hosts = engine::applyHosts(prepared.loaded.state, ctx->reconcilers(),
                                      engine::connectHost, prepared.options, progress);
  }
  const auto& outcomes = report.hosts;
  const ApplyTotals totals = applyTotals(outcomes);
  size_t failed = totals.notConverged.size();
  human << "\napply: " << totals.hosts << " host(s), " << totals.changed << " changed, "
        << totals.done << " action(s) done, " << totals.failed + totals.skipped << " failed";
  if (!totals.notConverged.empty()) {
    human << "; not converged:";
    for (const std::string& h : totals.notConverged) human << " " << h;
  }
  human << "\n";
  const bool everyHost = prepared.options.hosts.empty() && prepared.options.kinds.empty();
  if (failed == 0 && everyHost) {
    if (Status s = ctx->recordDistributed(prepared.loaded.state, outcomes); !s.ok()) {
      io.err << "kthw apply: " << s.message() << "\n";
    }
  }
  // Whatever the hosts made of it, the store may have changed (material issued, a rotation
  // step): the sealed store follows it, so that another machine does not issue it again.
  if (Status s = ctx->sealStores(prepared.loaded.state, human); !s.ok()) {
    io.err << "kthw apply: " << s.message() << "\n";
    ++failed;
  }
  if (wantsRbac(prepared.loaded.state, prepared.options)) {
    const std::string timeout = parsed->get("--api-timeout", "120");
    std::chrono::seconds wait(std::atoi(timeout.c_str()));
    if (const engine::ApiWaitPlan plan = engine::planApiWait(prepared.loaded.state, outcomes);
        plan.checkOnce) {
      human << "RBAC: " << plan.reason << ": checking the API server once instead of waiting up to "
            << wait.count() << "s\n";
      wait = std::chrono::seconds(0);
    }
    report.rbac = applyRbacObjects(prepared, *ctx, parsed->get("--kubeconfig"), wait,
                                   saved ? &*saved : nullptr, human);
    if (!report.rbac->status.ok()) {
      human << "  RBAC: FAILED: " << report.rbac->status.message() << "\n";
      ++failed;
    }
  }
  // A load balancer that was just (re)configured, or whose backends were, needs its health
  // checks to rise before it routes; when this apply changed nothing, one check says it all.
  if (wantsRoutes(prepared.options)) {
    report.routes =
        ctx->checkRoutes(prepared.loaded.state, std::chrono::seconds(totals.changed > 0 ? 30 : 0));
  }
  for (const auto& [lb, route] : report.routes) {
    human << "  LoadBalancer/" << lb << ": route through the frontend "
          << (route.ok() ? "answers" : "FAILS: " + route.message()) << "\n";
    if (!route.ok()) ++failed;
  }
  const auto now = std::chrono::system_clock::now();
  for (const auto& o : outcomes) engine::recordConditions(o, true, 0, now, report.conditions);
  const bool allReady = printConditions(report.conditions, human);
  report.exitCode = failed > 0 || !allReady ? kExitFindings : kExitOk;
  if (output == "json") io.out << applyJson(report);
  return report.exitCode;
}

}  // namespace kthw::cli
