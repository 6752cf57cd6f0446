// The one converge pass of kthw apply and kthw run.
#include "engine/converge.h"

#include <algorithm>
#include <future>
#include <sstream>

#include "engine/api_access.h"
#include "engine/pass_context.h"
#include "engine/route_checks.h"
#include "runtime/pki.h"

namespace kthw::engine {
namespace {

using Clock = std::chrono::steady_clock;
using S = ConditionStatus;

bool isRbacKind(const std::string& kind) {
  return kind == "ClusterRole" || kind == "ClusterRoleBinding";
}

bool selects(const std::vector<std::string>& only, const std::string& item) {
  return only.empty() || std::find(only.begin(), only.end(), item) != only.end();
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void note(const ConvergeEvents& events, const std::string& line) {
  if (events.note) events.note(line);
}

// Every resource of the pass gets the same condition: a prerequisite that failed for all.
void setAll(std::map<std::string, ConditionSet>& conditions, const std::vector<std::string>& keys,
            const std::string& reason, const std::string& message,
            std::chrono::system_clock::time_point now) {
  for (const std::string& key : keys) {
    ConditionSet& c = conditions[key];
    c.set("Ready", S::kFalse, reason, message, 0, now);
    c.set("Progressing", S::kFalse, reason, "", 0, now);
    c.set("Degraded", S::kTrue, reason, message, 0, now);
  }
}

// The RBAC objects this pass answers for ("Kind/name").
std::vector<std::string> rbacKeys(const resources::DesiredState& state,
                                  const ConvergeOptions& options) {
  std::vector<std::string> keys;
  for (const resources::RbacObject& o : state.rbac) {
    const std::string key = o.kind + "/" + o.name();
    if (selects(options.pass.kinds, o.kind) && selects(options.rbacResources, key)) {
      keys.push_back(key);
    }
  }
  return keys;
}

std::vector<std::string> hostDocumentKeys(const resources::DesiredState& state,
                                          const PassOptions& pass) {
  std::vector<std::string> keys;
  auto add = [&](const std::string& kind, const std::string& name) {
    if (selects(pass.kinds, kind)) keys.push_back(kind + "/" + name);
  };
  for (const resources::Host& h : state.hosts) add("Host", h.name());
  for (const resources::CertificateBundle& b : state.bundles) add("CertificateBundle", b.name());
  for (const resources::ControlPlaneService& s : state.services) {
    add("ControlPlaneService", s.name());
  }
  for (const resources::LoadBalancer& lb : state.loadBalancers) add("LoadBalancer", lb.name());
  return keys;
}

// The RBAC step: credentials, the API server ready, the plan (a read of each object), the
// writes, and a condition for each object of the pass.
void convergeRbac(const resources::DesiredState& state, const ConvergeOptions& options,
                  const PassContext* ctx, const ApiClientSource& source,
                  const ConvergeEvents& events, ConvergeResult& result) {
  const auto now = std::chrono::system_clock::now();
  const std::vector<std::string> keys = rbacKeys(state, options);
  RbacOutcome& outcome = result.rbac.emplace();
  auto creds = options.apiCredentials ? StatusOr<runtime::ApiCredentials>(*options.apiCredentials)
               : ctx != nullptr       ? apiCredentials(state, ctx->material(), options.kubeconfig)
                                      : StatusOr<runtime::ApiCredentials>(unavailable(
                                            "no admin credentials yet: the CertificateBundle has not "
                                                  "been issued"));
  if (!creds.ok()) {
    outcome.status = creds.status();
    setAll(result.conditions, keys, "WaitingForCredentials", creds.status().message(), now);
    return;
  }
  outcome.server = creds->server;
  outcome.identity = creds->source;
  std::shared_ptr<runtime::ApiClient> api = source ? source(*creds) : newApiClient(*creds);
  std::chrono::seconds wait = options.apiWait;
  if (wait.count() > 0) {
    if (const ApiWaitPlan plan = planApiWait(state, result.hosts); plan.checkOnce) {
      note(events, "RBAC: " + plan.reason +
                       ": checking the API server once instead of waiting up to " +
                       std::to_string(wait.count()) + "s");
      wait = std::chrono::seconds(0);
    }
  }
  Status ready = waitForApiServer(
      *api, wait,
      [&](const Status& s, std::chrono::milliseconds d) {
        note(events, "RBAC: WaitingForAPIServer at " + creds->server + " (" + s.message() +
                         "); retrying in " + std::to_string(d.count()) + " ms");
      },
      *options.pass.clock);
  if (!ready.ok()) {
    outcome.status = ready;
    setAll(result.conditions, keys, "APIServerUnavailable",
           "the API server at " + creds->server + " is not ready: " + ready.message(), now);
    return;
  }
  auto read = reconcilers::planRbac(state, *api);
  if (!read.ok()) {
    outcome.status = read.status();
    setAll(result.conditions, keys, "ReadFailed", read.status().message(), now);
    return;
  }
  reconcilers::RbacPlan plan;
  for (const reconcilers::RbacAction& a : read->actions) {
    // With a subset of the objects, only theirs; labelled objects that left the desired state
    // are deleted by a pass over all of them.
    if (options.rbacResources.empty() ? selects(options.pass.kinds, a.kind)
                                      : selects(options.rbacResources, a.kind + "/" + a.name)) {
      plan.actions.push_back(a);
    }
  }
  outcome.planned = plan.actions.size();
  if (options.admitRbac) {
    if (Status s = options.admitRbac(plan); !s.ok()) {
      outcome.status = s;
      setAll(result.conditions, keys, "PlanChanged", s.message(), now);
      return;
    }
  }
  outcome.compared = true;
  const std::vector<Status> results = options.repair ? reconcilers::applyRbac(plan, *api)
                                                     : std::vector<Status>(plan.actions.size());
  for (size_t i = 0; options.repair && i < results.size(); ++i) {
    const reconcilers::RbacAction& a = plan.actions[i];
    RbacWrite write{reconcilers::rbacActionName(a.type), a.kind, a.name, results[i]};
    if (events.rbacWrite) events.rbacWrite(write);
    outcome.writes.push_back(std::move(write));
    if (!results[i].ok() && outcome.status.ok()) outcome.status = results[i];
  }
  for (const std::string& key : keys) {
    size_t pending = 0;
    Status failed;
    for (size_t i = 0; i < plan.actions.size(); ++i) {
      if (plan.actions[i].kind + "/" + plan.actions[i].name != key) continue;
      ++pending;
      if (!results[i].ok() && failed.ok()) failed = results[i];
    }
    ConditionSet& c = result.conditions[key];
    if (!failed.ok()) {
      c.set("Ready", S::kFalse, "ApplyFailed", failed.message(), 0, now);
      c.set("Degraded", S::kTrue, "ApplyFailed", failed.message(), 0, now);
    } else if (!options.repair && pending > 0) {
      c.set("Ready", S::kFalse, "Drifted",
            std::to_string(pending) + " API write(s) pending, not repaired (--no-repair)", 0, now);
      c.set("Degraded", S::kFalse, "AsExpected", "", 0, now);
    } else {
      c.set("Ready", S::kTrue, pending > 0 ? "Converged" : "UpToDate", "", 0, now);
      c.set("Degraded", S::kFalse, "AsExpected", "", 0, now);
    }
    c.set("Progressing", pending > 0 ? S::kTrue : S::kFalse,
          pending > 0 ? (options.repair ? "Applied" : "ChangesPending") : "Idle", "", 0, now);
  }
}

// Issued material, and when each stored certificate expires.
void recordMaterial(const PassContext& ctx, const ConvergeEvents& events, ConvergeResult& result) {
  for (const auto& [bundle, material] : ctx.material()) {
    for (const auto& [name, reason] : material.reasons) {
      note(events, "CertificateBundle/" + bundle + ": issued " + name + " (" + reason + ")");
      result.issued.push_back({bundle, name, reason});
    }
    for (const auto& [name, pem] : material.certificates) {
      if (auto info = runtime::inspectCertificate(pem); info.ok()) {
        result.certificates.push_back({bundle, name, info->notAfter});
      }
    }
  }
}

}  // namespace

std::shared_ptr<runtime::ApiClient> newApiClient(const runtime::ApiCredentials& credentials) {
  return std::make_shared<runtime::HttpsApiClient>(credentials);
}

bool passWantsHosts(const PassOptions& pass) {
  return pass.kinds.empty() || std::any_of(pass.kinds.begin(), pass.kinds.end(),
                                           [](const std::string& k) { return !isRbacKind(k); });
}

bool passWantsRoutes(const PassOptions& pass) {
  return pass.hosts.empty() && selects(pass.kinds, "LoadBalancer");
}

bool passWantsRbac(const resources::DesiredState& state, const PassOptions& pass) {
  return !state.rbac.empty() && pass.hosts.empty() &&
         (pass.kinds.empty() || std::any_of(pass.kinds.begin(), pass.kinds.end(), isRbacKind));
}

ConvergeResult converge(const resources::DesiredState& state, const ConvergeOptions& options,
                        const HostOpsFactory& connect, const ApiClientSource& api,
                        const ConvergeEvents& events) {
  ConvergeResult result;
  const auto started = Clock::now();
  const bool hosts = passWantsHosts(options.pass);
  const bool rbac = passWantsRbac(state, options.pass);
  const bool routes = hosts && passWantsRoutes(options.pass);

  // Prerequisites: the stores (issuing what is missing when repairing), and for hosts the
  // binaries. An RBAC pass with credentials in hand needs neither.
  std::unique_ptr<PassContext> ctx;
  if (hosts || (rbac && !options.apiCredentials)) {
    auto created = PassContext::create(state, options.repair, std::chrono::system_clock::now(),
                                       /*withBinaries=*/hosts);
    if (!created.ok()) {
      result.prerequisites = created.status();
      std::vector<std::string> keys = hostDocumentKeys(state, options.pass);
      for (std::string& k : rbac ? rbacKeys(state, options) : std::vector<std::string>{}) {
        keys.push_back(std::move(k));
      }
      setAll(result.conditions, keys, "PrerequisiteFailed", created.status().message(),
             std::chrono::system_clock::now());
      return result;
    }
    ctx = std::move(*created);
    for (const std::string& line : ctx->sealedLoads()) note(events, line);
    recordMaterial(*ctx, events, result);
    if (auto creds = apiCredentials(state, ctx->material(), options.kubeconfig); creds.ok()) {
      result.apiCredentials = *creds;
    }
  }
  result.prepareSeconds = secondsSince(started);

  if (hosts) {
    // The route check (a TLS request through each load balancer) runs beside the probes: a pass
    // that changes nothing reports what it found then; one that changes something checks again.
    std::future<std::map<std::string, Status>> earlyRoutes;
    if (routes) {
      earlyRoutes = std::async(std::launch::async,
                               [&state, &ctx] { return checkRoutes(state, ctx->material()); });
    }
    result.hosts = options.repair ? applyHosts(state, ctx->reconcilers(), connect, options.pass,
                                               events.hostProgress)
                                  : planHosts(state, ctx->reconcilers(), connect, options.pass);
    result.hostsSeconds = secondsSince(started) - result.prepareSeconds;
    const auto now = std::chrono::system_clock::now();
    bool everyHostOk = true;
    for (const HostOutcome& o : result.hosts) {
      recordConditions(o, options.repair, 0, now, result.conditions);
      everyHostOk = everyHostOk && !o.failed();
      result.changed = result.changed || (o.reach.ok() && !o.plan.actions.empty());
    }
    // Staged key rotations take their next step only once every host has the keys: a pass over
    // every host and every host kind, with nothing failed.
    const bool everyHostKind =
        std::all_of(hostKinds().begin(), hostKinds().end(),
                    [&](const std::string& k) { return selects(options.pass.kinds, k); });
    if (options.repair && everyHostOk && everyHostKind && options.pass.hosts.empty()) {
      result.distribution = ctx->recordDistributed(state, result.hosts);
    }
    if (routes) {
      result.routes = earlyRoutes.get();
      if (result.changed)
        result.routes = ctx->checkRoutes(state, options.routePatience, *options.pass.clock);
      for (const auto& [lb, route] : result.routes) {
        if (route.ok()) continue;
        ConditionSet& c = result.conditions["LoadBalancer/" + lb];
        c.set("Ready", S::kFalse, "RouteCheckFailed", route.message(), 0, now);
        c.set("Degraded", S::kTrue, "RouteCheckFailed", route.message(), 0, now);
      }
    }
  }
  if (ctx && options.repair) {
    // Whatever the hosts made of it, the store may have changed (material issued, a rotation
    // step): the sealed store follows, so that another machine does not issue it again.
    std::ostringstream sealed;
    result.sealing = ctx->sealStores(state, sealed);
    std::istringstream lines(sealed.str());
    for (std::string line; std::getline(lines, line);) note(events, line);
  }
  if (rbac) convergeRbac(state, options, ctx.get(), api, events, result);
  return result;
}

}  // namespace kthw::engine
