// kthw verify: the checks an operator runs after building a control plane by hand, run against
// the live cluster — from each host over SSH (etcd's API, health endpoints, the /healthz
// proxy) and through the load balancer (the Kubernetes API). Read-only: nothing is written to a
// host, the store or the API (a SubjectAccessReview is a question, not an object).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <mutex>
#include <set>
#include <sstream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/verify_checks.h"
#include "engine/api_access.h"
#include "engine/host_pass.h"
#include "engine/installed_certificates.h"
#include "engine/pass_context.h"
#include "reconcilers/control_plane_service_reconciler.h"
#include "resources/desired_state.h"
#include "resources/diagnostic.h"
#include "resources/substitution.h"
#include "runtime/api_client.h"
#include "runtime/base64.h"
#include "runtime/etcd_answers.h"
#include "runtime/ssh_transport.h"
#include "runtime/url_path.h"

namespace kthw::cli {
namespace {

using verify::Check;
using verify::fail;
using verify::jsonString;
using verify::parseJson;
using verify::pass;
using verify::printJson;
using verify::printTable;
using verify::Result;
using verify::skip;

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--host", "", true, true, "NAME", "Only the host checks of these hosts (repeatable)"},
    {"--output", "-o", true, false, "FORMAT", "text (default) or json"},
    {"--kubeconfig", "", true, false, "FILE",
     "Reach the API server as this kubeconfig says (default: the desired state's admin)"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp = R"(Check the live cluster the way an operator checks it by hand.

Every check runs against what is running, not against files:
  service health      each ControlPlaneService's health endpoint on each of its
                      hosts, once (curl on the host, with its CA and client
                      certificate)
  etcd members        etcd's member list from every etcd host: as many members
                      as etcd hosts, every one started, every host agreeing
  encryption at rest  one Secret's raw value read from etcd starts with
                      k8s:enc: (when a bundle has an encryption config; the
                      value itself is never shown)
  API via LB          /version through each load balancer's frontend, the
                      server verified against the cluster CA
  healthz proxy       the nginx /healthz site on each proxy host, with its
                      Host header, answers ok
  component statuses  /api/v1/componentstatuses: every component Healthy
  leader lease        kube-controller-manager's and kube-scheduler's Lease in
                      kube-system held and renewed within the last 60s
  kubelet API access  a SubjectAccessReview: the user of the apiserver's
                      --kubelet-client-certificate may get nodes/proxy
  certificates        per host, every certificate file installed there (as
                      kthw certs reads them: certificates only, never keys)
                      chains to its authority in the secret store, is the
                      store's copy, and is not within its renew-before window
                      (an authority: 30 days); the soonest expiry is shown

A check that does not apply to the desired state is shown as skip, with why.

Usage:
  kthw verify -f PATH [--host NAME] [-o json]

Examples:
  kthw verify -f cluster/
  kthw verify -f cluster/ -o json | jq '.checks[] | select(.result == "fail")'

Options:
)";

constexpr const char* kExitCodes = R"(
Exit status: 0 every check passed (or was skipped), 1 a check failed (a host
that cannot be reached fails its checks), 2 usage error or invalid desired
state, 3 the secret store could not be read.
)";

// scheme://host:port of a URL ("https://127.0.0.1:2379/health" -> "https://127.0.0.1:2379").
std::string origin(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// One POST to etcd's JSON gateway from the etcd host, with the health check's TLS files.
std::string etcdCall(const runtime::HostCommand& health, const std::string& base,
                     const std::string& path, const std::string& body) {
  runtime::HostCommand post = runtime::HostCommand::httpRequest("POST", base + path);
  post.ca = health.ca;
  post.cert = health.cert;
  post.key = health.key;
  post.body = body;
  return runtime::commandScript(post);
}

// Hosts checked at once, as many as a pass handles by default.
constexpr size_t kParallelHosts = 32;

class Verifier {
 public:
  Verifier(const resources::DesiredState& state, const std::vector<std::string>& hostFilter)
      : state_(state), hostFilter_(hostFilter), services_(state, noBinaries_) {}

  // The checks that run on hosts, hosts in parallel.
  void hostChecks() {
    std::vector<const resources::Host*> hosts;
    for (const resources::Host& h : state_.hosts) {
      if (hostFilter_.empty() ||
          std::find(hostFilter_.begin(), hostFilter_.end(), h.name()) != hostFilter_.end()) {
        hosts.push_back(&h);
      }
    }
    std::sort(hosts.begin(), hosts.end(),
              [](const auto* a, const auto* b) { return a->name() < b->name(); });
    std::vector<std::vector<Check>> perHost(hosts.size());
    engine::runParallel(hosts.size(), kParallelHosts,
                        [&](size_t i) { perHost[i] = onHost(*hosts[i]); });
    for (auto& checks : perHost) {
      for (Check& c : checks) checks_.push_back(std::move(c));
    }
    agreeOnMembers();
  }

  const std::vector<Check>& checks() const { return checks_; }

 private:
  std::vector<Check> onHost(const resources::Host& host) {
    std::vector<Check> out;
    std::shared_ptr<runtime::HostOps> ops = engine::connectHost(host);
    for (const resources::ControlPlaneService& s : state_.services) {
      if (!state_.selects(s.hosts, host)) continue;
      const reconcilers::HealthProbe probe = services_.healthProbe(s, host);
      Status h = ops->perform(probe.check);
      out.push_back(h.ok() ? pass("service health", host.name() + " " + s.name(), probe.description)
                           : fail("service health", host.name() + " " + s.name(), h.message()));
      if (s.component == "etcd" && !s.health.url.value.empty()) etcdChecks(s, host, *ops, out);
    }
    for (const resources::LoadBalancer& lb : state_.loadBalancers) {
      if (lb.healthzProxy.enabled && state_.selects(lb.healthzProxy.hosts, host)) {
        healthzProxy(lb.healthzProxy, host, *ops, out);
      }
    }
    return out;
  }

  void etcdChecks(const resources::ControlPlaneService& s, const resources::Host& host,
                  runtime::HostOps& ops, std::vector<Check>& out) {
    resources::Diagnostics ignored;
    const std::string url = resources::Substituter(state_)
                                .resolve(s.health.url, &host, ignored)
                                .value_or(s.health.url.value);
    const std::string base = origin(url);
    const runtime::HostCommand tls = services_.healthProbe(s, host).check;
    auto list = ops.output(etcdCall(tls, base, "/v3/cluster/member/list", "{}"));
    auto members = list.ok() ? runtime::parseEtcdMembers(*list)
                             : StatusOr<std::vector<std::string>>(list.status());
    const std::string target = host.name() + " " + s.name();
    if (!members.ok()) {
      out.push_back(fail("etcd members", target, members.status().message()));
    } else {
      const size_t want = state_.select(s.hosts).size();
      const bool unstarted = std::any_of(members->begin(), members->end(), [](const auto& m) {
        return m.starts_with("(not started)");
      });
      std::lock_guard<std::mutex> lock(mu_);
      memberLists_[s.name()][host.name()] = *members;
      std::string detail =
          std::to_string(members->size()) + " members: " + runtime::etcdMemberNames(*members);
      if (members->size() != want) {
        out.push_back(fail("etcd members", target,
                           detail + "; the desired state has " + std::to_string(want) + " hosts"));
      } else if (unstarted) {
        out.push_back(fail("etcd members", target, detail));
      } else {
        out.push_back(pass("etcd members", target, detail));
      }
    }
    if (!encryptionWanted()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (encryptionChecked_) return;
      encryptionChecked_ = true;
    }
    const std::string from = "/registry/secrets/";
    const std::string to = "/registry/secrets0";  // every key with the prefix
    auto range =
        ops.output(etcdCall(tls, base, "/v3/kv/range",
                            "{\"key\":\"" + runtime::base64Encode(from) + "\",\"range_end\":\"" +
                                runtime::base64Encode(to) + "\",\"limit\":1}"));
    if (!range.ok()) {
      out.push_back(fail("encryption at rest", host.name(), range.status().message()));
      return;
    }
    auto d = parseJson(*range);
    auto kvs = d ? d->FindMember("kvs") : rapidjson::Value::MemberIterator();
    if (!d || kvs == d->MemberEnd() || !kvs->value.IsArray() || kvs->value.Empty()) {
      out.push_back(skip("encryption at rest", host.name(), "no Secret is stored in etcd yet"));
      return;
    }
    const rapidjson::Value& kv = kvs->value[0];
    const std::string key = runtime::base64Decode(jsonString(kv, "key"));
    const std::string value = runtime::base64Decode(jsonString(kv, "value"));
    const std::string shown = resources::escapeValue(key);
    if (value.starts_with("k8s:enc:")) {
      out.push_back(pass("encryption at rest", host.name(),
                         shown + " is stored as " + runtime::encryptionPrefix(value) + "..."));
    } else {
      out.push_back(fail("encryption at rest", host.name(),
                         shown + " is stored in plaintext (no k8s:enc: prefix)"));
    }
  }

  bool encryptionWanted() const {
    return std::any_of(state_.bundles.begin(), state_.bundles.end(),
                       [](const auto& b) { return !b.encryptionConfigs.empty(); });
  }

  void healthzProxy(const resources::HealthzProxy& proxy, const resources::Host& host,
                    runtime::HostOps& ops, std::vector<Check>& out) {
    const std::string url = "http://127.0.0.1:" + std::to_string(proxy.listenPort) + "/healthz";
    runtime::HostCommand get = runtime::HostCommand::httpRequest("GET", url);
    get.header = "Host: " + proxy.serverName;
    auto body = ops.output(runtime::commandScript(get));
    const std::string& target = host.name();
    if (!body.ok()) {
      out.push_back(fail("healthz proxy", target, body.status().message()));
    } else if (*body != "ok") {
      out.push_back(fail("healthz proxy", target,
                         url + " answered " + resources::escapeValue(body->substr(0, 80))));
    } else {
      out.push_back(
          pass("healthz proxy", target, url + " (Host: " + proxy.serverName + ") answers ok"));
    }
  }

  // Every etcd host must report the same members.
  void agreeOnMembers() {
    for (const auto& [service, byHost] : memberLists_) {
      std::set<std::vector<std::string>> distinct;
      for (const auto& [host, members] : byHost) distinct.insert(members);
      if (byHost.size() < 2) continue;
      if (distinct.size() == 1) {
        checks_.push_back(pass("etcd members agree", service,
                               std::to_string(byHost.size()) + " hosts report the same " +
                                   std::to_string(distinct.begin()->size()) + " members"));
      } else {
        std::string detail;
        for (const auto& [host, members] : byHost) {
          detail += (detail.empty() ? "" : "; ") + host + ": " + runtime::etcdMemberNames(members);
        }
        checks_.push_back(fail("etcd members agree", service, detail));
      }
    }
  }

  const resources::DesiredState& state_;
  const std::vector<std::string>& hostFilter_;
  std::map<std::string, reconcilers::BinarySource> noBinaries_;
  reconcilers::ControlPlaneServiceReconciler services_;
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> memberLists_;
  bool encryptionChecked_ = false;
  std::vector<Check> checks_;
};

// One row per host that gets certificate files: every installed certificate chains to the
// store's authority, is the store's copy, and is outside its renewal window (as kthw certs
// judges them).
std::vector<Check> certificateChecks(const resources::DesiredState& state,
                                     const std::vector<std::string>& hosts) {
  auto stored = engine::readStoredCertificates(state);
  if (!stored.ok()) return {fail("certificates", "-", stored.status().message())};
  const auto installed = engine::fetchInstalledCertificates(
      state, hosts, engine::connectHost, hosts.empty() ? state.hosts.size() : hosts.size());
  const auto inventory = reconcilers::buildInventory(state, *stored, installed, hosts,
                                                     std::chrono::system_clock::now());
  std::vector<Check> out;
  for (const reconcilers::HostCertificates& h : reconcilers::certificatesByHost(inventory)) {
    if (!h.reach.ok()) {
      out.push_back(fail("certificates", h.host, h.reach.message()));
      continue;
    }
    std::string detail = std::to_string(h.chained) + " of " + std::to_string(h.installed) +
                         " certificates chain to their authority";
    if (h.soonestDaysLeft) {
      detail += ", soonest expiry " + std::to_string(*h.soonestDaysLeft) + " days (" +
                h.soonestPath + ")";
    }
    if (h.findings.empty()) {
      out.push_back(pass("certificates", h.host, detail));
      continue;
    }
    for (const std::string& f : h.findings) detail += "; " + f;
    out.push_back(fail("certificates", h.host, detail));
  }
  return out;
}

}  // namespace

int runVerify(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("verify", args, kOptions, kHelp, kExitCodes, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "text");
  if (output != "text" && output != "json") {
    io.err << "kthw verify: --output must be text or json\n";
    return kExitUsage;
  }
  if (!parsed->has("--filename") || !parsed->positional.empty()) {
    io.err << "kthw verify: give the documents with -f PATH\n";
    return kExitUsage;
  }
  resources::LoadOutcome loaded = resources::loadDesiredState(parsed->all("--filename"), io.in);
  if (!loaded.ok()) {
    for (const std::string& line : loaded.errorLines()) io.err << line << "\n";
    io.err << "kthw verify: the desired state is invalid; nothing was checked\n";
    return kExitUsage;
  }
  for (const std::string& h : parsed->all("--host")) {
    if (loaded.state.findHost(h) == nullptr) {
      io.err << "kthw verify: no Host named \"" << h << "\"\n";
      return kExitUsage;
    }
  }
  auto context =
      engine::PassContext::create(loaded.state, false, std::chrono::system_clock::now(), false);
  if (!context.ok()) {
    io.err << "kthw verify: " << context.status().message() << "\n";
    return kExitError;
  }
  Verifier verifier(loaded.state, parsed->all("--host"));
  verifier.hostChecks();
  std::vector<Check> checks = verifier.checks();
  for (Check& c : verify::apiChecks(loaded.state, parsed->get("--kubeconfig"), **context)) {
    checks.push_back(std::move(c));
  }
  for (Check& c : certificateChecks(loaded.state, parsed->all("--host"))) {
    checks.push_back(std::move(c));
  }
  if (output == "json") {
    printJson(checks, io.out);
  } else {
    printTable(checks, io.out);
  }
  const size_t failed = static_cast<size_t>(std::count_if(
      checks.begin(), checks.end(), [](const Check& c) { return c.result == Result::kFail; }));
  if (output == "text") {
    io.out << "\n"
           << checks.size() - failed << " of " << checks.size() << " checks passed or skipped";
    io.out << (failed == 0 ? "\n" : ", " + std::to_string(failed) + " failed\n");
  }
  return failed == 0 ? kExitOk : kExitFindings;
}

}  // namespace kthw::cli
