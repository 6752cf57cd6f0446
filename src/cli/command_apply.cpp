// kthw apply: the one converge pass (engine/converge.h), with progress, results and conditions.
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

std::vector<OptionSpec> applyOptions() {
  auto o = convergeCommonOptions();
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
  engine::ConvergeEvents events;
  events.hostProgress = [&](const engine::HostOutcome& o, const engine::ActionResult* r) {
    std::lock_guard<std::mutex> lock(printing);
    printProgress(o, r, human);
  };
  events.note = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(printing);
    human << line << "\n";
    human.flush();
  };
  events.rbacWrite = [&](const engine::RbacWrite& w) {
    std::lock_guard<std::mutex> lock(printing);
    human << "RBAC: " << (w.status.ok() ? "done " : "FAILED ") << w.action << " " << w.kind << "/"
          << w.name << (w.status.ok() ? "" : ": " + w.status.message()) << "\n";
  };
  engine::ConvergeOptions options;
  options.pass = prepared.options;
  options.kubeconfig = parsed->get("--kubeconfig");
  options.apiWait = std::chrono::seconds(std::atoi(parsed->get("--api-timeout", "120").c_str()));
  options.routePatience = std::chrono::seconds(30);
  if (saved) {
    options.admitRbac = [&saved](const reconcilers::RbacPlan& plan) {
      const auto changes = rbacPlanChanges(saved->rbac, plannedRbac(plan));
      return changes.empty() ? okStatus() : failedPrecondition(refusal(changes));
    };
  }
  engine::ConvergeResult pass = engine::converge(prepared.loaded.state, options,
                                                 engine::connectHost, engine::newApiClient, events);
  if (!pass.prerequisites.ok()) {
    io.err << "kthw apply: " << pass.prerequisites.message() << "\n";
    return kExitFindings;
  }
  ApplyReport report;
  report.issued = std::move(pass.issued);
  report.hosts = std::move(pass.hosts);
  report.rbac = std::move(pass.rbac);
  report.routes = std::move(pass.routes);
  report.conditions = std::move(pass.conditions);
  const ApplyTotals totals = applyTotals(report.hosts);
  size_t failed = totals.notConverged.size();
  human << "\napply: " << totals.hosts << " host(s), " << totals.changed << " changed, "
        << totals.done << " action(s) done, " << totals.failed + totals.skipped << " failed";
  if (!totals.notConverged.empty()) {
    human << "; not converged:";
    for (const std::string& h : totals.notConverged) human << " " << h;
  }
  human << "\n";
  if (!pass.distribution.ok()) io.err << "kthw apply: " << pass.distribution.message() << "\n";
  if (!pass.sealing.ok()) {
    io.err << "kthw apply: " << pass.sealing.message() << "\n";
    ++failed;
  }
  if (report.rbac) {
    if (report.rbac->compared) {
      human << "RBAC: " << report.rbac->planned << " API write(s) planned against "
            << report.rbac->server << " as " << report.rbac->identity << "\n";
    }
    if (!report.rbac->status.ok()) {
      human << "  RBAC: FAILED: " << report.rbac->status.message() << "\n";
      ++failed;
    }
  }
  for (const auto& [lb, route] : report.routes) {
    human << "  LoadBalancer/" << lb << ": route through the frontend "
          << (route.ok() ? "answers" : "FAILS: " + route.message()) << "\n";
    if (!route.ok()) ++failed;
  }
  const bool allReady = printConditions(report.conditions, human);
  report.exitCode = failed > 0 || !allReady ? kExitFindings : kExitOk;
  if (output == "json") io.out << applyJson(report);
  return report.exitCode;
}

}  // namespace kthw::cli
