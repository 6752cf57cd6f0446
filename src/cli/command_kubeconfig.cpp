// kthw kubeconfig: the operator's kubeconfig, from what the secret store already holds.
#include <algorithm>
#include <ctime>
#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/pass_context.h"
#include "engine/sealed_store.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/bundle_material.h"
#include "resources/desired_state.h"
#include "runtime/atomic_file.h"
#include "runtime/pki.h"
#include "runtime/secret_store.h"

namespace kthw::cli {
namespace {

using resources::Certificate;
using resources::CertificateBundle;

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--user", "", true, false, "NAME",
     "The client certificate to embed, by its name in the CertificateBundle "
     "(default: the admin certificate)"},
    {"--bundle", "", true, false, "NAME",
     "The CertificateBundle that holds it, when several have one of that name"},
    {"--load-balancer", "", true, false, "NAME",
     "The LoadBalancer whose frontend is the server, when there are several"},
    {"--out", "", true, false, "FILE", "Write to FILE (mode 0600, atomically) instead of stdout"},
    {"--force", "", false, false, "", "With --out: replace a FILE that holds something else"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp =
    R"(Print a kubeconfig for the operator: the cluster CA, a client certificate and
its key from the secret store, and the load balancer's frontend as the server
(https://ADDRESS:PORT of the LoadBalancer document).

Nothing is issued: the certificate must be in the secret store already (kthw
apply puts it there, or the bundle's spec.sealedStore file brings it from the
machine that issued it). The default certificate is the bundle's admin: the one
named admin, or else the only client certificate in group system:masters.
The user in the kubeconfig is the one a bundle kubeconfig of that certificate
names, or the certificate's common name.

The kubeconfig holds a private key. Prefer --out to a shell redirection: the
file is written 0600 from its first byte, atomically, and an existing FILE is
replaced only when it already holds this kubeconfig, or with --force. FILE must
not be inside a git work tree. kthw logs no key material.

Usage:
  kthw kubeconfig -f PATH [--user NAME] [--out FILE [--force]]

Examples:
  kthw kubeconfig -f cluster/ --out ~/.kube/kthw
  kubectl --kubeconfig ~/.kube/kthw get --raw /readyz
  kthw kubeconfig -f cluster/ --user kube-scheduler --load-balancer kubernetes

Options:
)";

constexpr const char* kExit = R"(
Exit status: 0 printed or written; 1 the secret store does not hold the
certificate, its key or its authority yet (run kthw apply first), the stored
certificate has expired or does not chain to its authority, or FILE holds
something else and --force was not given; 2 usage error, invalid desired
state, no or several load balancers or certificates to choose from, or FILE
inside a git work tree; 3 the secret store or FILE could not be read or
written.
)";

StatusOr<std::string> frontendServer(const resources::DesiredState& state,
                                     const std::string& name) {
  if (!name.empty()) {
    const resources::LoadBalancer* lb = state.findLoadBalancer(name);
    if (lb == nullptr) return invalidArgument("no LoadBalancer named \"" + name + "\"");
    return "https://" + lb->frontendAddress + ":" + std::to_string(lb->frontendPort);
  }
  if (state.loadBalancers.empty()) {
    return invalidArgument(
        "the desired state has no LoadBalancer; the kubeconfig points at a load balancer's "
        "frontend, so declare one");
  }
  if (state.loadBalancers.size() > 1) {
    std::string names;
    for (const auto& lb : state.loadBalancers) names += " " + lb.name();
    return invalidArgument("there are several LoadBalancers; choose one with --load-balancer:" +
                           names);
  }
  return frontendServer(state, state.loadBalancers.front().name());
}

struct Choice {
  const CertificateBundle* bundle = nullptr;
  const Certificate* certificate = nullptr;
};

bool inSystemMasters(const Certificate& c) {
  const auto& groups = c.subject.organizations;
  return std::find(groups.begin(), groups.end(), "system:masters") != groups.end();
}

std::string describe(const std::vector<Choice>& choices) {
  std::string out;
  for (const Choice& c : choices) out += " " + c.bundle->name() + "/" + c.certificate->name;
  return out;
}

// The named client certificate (in `bundleName` when given), or the admin certificate.
StatusOr<Choice> chooseCertificate(const resources::DesiredState& state, const std::string& user,
                                   const std::string& bundleName) {
  if (!bundleName.empty() && state.findBundle(bundleName) == nullptr) {
    return invalidArgument("no CertificateBundle named \"" + bundleName + "\"");
  }
  std::vector<Choice> candidates;
  for (const CertificateBundle& b : state.bundles) {
    if (!bundleName.empty() && b.name() != bundleName) continue;
    for (const Certificate& c : b.certificates) {
      const bool wanted = user.empty() ? c.name == "admin" : c.name == user;
      if (wanted) candidates.push_back({&b, &c});
    }
  }
  if (candidates.empty() && user.empty()) {
    for (const CertificateBundle& b : state.bundles) {
      if (!bundleName.empty() && b.name() != bundleName) continue;
      for (const Certificate& c : b.certificates) {
        if (c.clientAuth && inSystemMasters(c)) candidates.push_back({&b, &c});
      }
    }
  }
  const bool namesAnAuthority =
      std::any_of(state.bundles.begin(), state.bundles.end(), [&](const auto& b) {
        return std::any_of(b.authorities.begin(), b.authorities.end(),
                           [&](const resources::Authority& a) { return a.name == user; });
      });
  if (candidates.empty() && namesAnAuthority) {
    return invalidArgument(user + " is an authority; --user names a client certificate");
  }
  if (candidates.empty()) {
    return invalidArgument(user.empty()
                               ? "no admin certificate (one named admin, or a client certificate "
                                 "in group system:masters); name one with --user"
                               : "no certificate named \"" + user + "\" in " +
                                     (bundleName.empty() ? "any CertificateBundle" : bundleName));
  }
  if (candidates.size() > 1) {
    return invalidArgument("several certificates fit:" + describe(candidates) +
                           "; choose with --user and --bundle");
  }
  if (!candidates.front().certificate->clientAuth) {
    return invalidArgument("certificate " + candidates.front().certificate->name +
                           " has no client usage; the API server would refuse it");
  }
  return candidates.front();
}

std::string userName(const Choice& choice) {
  for (const resources::Kubeconfig& k : choice.bundle->kubeconfigs) {
    if (k.certificate == choice.certificate->name && !k.user.empty()) return k.user;
  }
  return choice.certificate->subject.commonName;
}

std::string day(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

struct Material {
  std::string caPem;
  std::string certPem;
  runtime::PrivateKeyPem key;
  runtime::CertificateCheck check;
};

// The certificate, its key and its authority as the store holds them, refused when the
// certificate could not authenticate anyone; a certificate due for renewal is only warned about.
StatusOr<Material> storedMaterial(const Choice& choice, std::chrono::system_clock::time_point now,
                                  std::ostream& err) {
  const CertificateBundle& b = *choice.bundle;
  const Certificate& c = *choice.certificate;
  const std::string dir = engine::secretStoreDir(b);
  // A machine that holds the sealed store's identity has the material without an apply.
  if (auto loaded = engine::loadSealedStore(b, dir); !loaded.ok()) return loaded.status();
  auto store = runtime::SecretStore::open(dir, runtime::SecretStore::Mode::kRead);
  if (!store.ok() && store.status().code() == StatusCode::kNotFound) {
    return failedPrecondition("the secret store " + dir +
                              " does not exist yet: nothing is issued; run kthw apply first");
  }
  if (!store.ok()) return store.status();
  auto cert = reconcilers::storedCertificatePem(b, **store, c.name);
  auto key = reconcilers::storedPrivateKey(b, **store, c.name);
  auto ca = reconcilers::storedCertificatePem(b, **store, c.issuer);
  if (!cert || !key || !ca) {
    return failedPrecondition(
        "the secret store " + dir + " does not hold " +
        (ca ? "certificate " + c.name + " and its key" : "authority " + c.issuer) +
        " of CertificateBundle/" + b.name() + " yet; run kthw apply first");
  }
  auto check = runtime::checkCertificate(*cert, *ca, c.renewBefore, now);
  if (!check.ok())
    return Status(StatusCode::kInternal,
                  "stored certificate " + c.name + ": " + check.status().message());
  const std::string what = "the stored certificate " + b.name() + "/" + c.name;
  switch (check->health) {
    case runtime::CertificateHealth::kUntrusted:
      return failedPrecondition(what + " does not chain to authority " + c.issuer + " (" +
                                check->chain.message() + "); kthw apply reissues it");
    case runtime::CertificateHealth::kExpired:
      return failedPrecondition(what + " expired on " + day(check->info.notAfter) +
                                "; kthw apply reissues it");
    case runtime::CertificateHealth::kRenewDue:
      err << "kthw kubeconfig: warning: " << what << " expires on " << day(check->info.notAfter)
          << ", within its renewBefore; the next kthw apply reissues it and this kubeconfig "
             "stops working when it expires\n";
      break;
    case runtime::CertificateHealth::kNotYetValid:
      err << "kthw kubeconfig: warning: " << what << " is valid only from "
          << day(check->info.notBefore) << "; is this machine's clock right?\n";
      break;
    case runtime::CertificateHealth::kValid:
      break;
  }
  if (!runtime::keyMatches(*cert, *key)) {
    return failedPrecondition(what + " and its stored key do not match; kthw apply reissues it");
  }
  return Material{*ca, *cert, *key, std::move(*check)};
}

Status writeOut(const std::string& path, const std::string& kubeconfig, bool force) {
  if (auto tree = runtime::enclosingGitWorkTree(path)) {
    return invalidArgument(path + " is inside the git work tree " + *tree +
                           "; a kubeconfig holds a private key and must never be committed; "
                           "choose a path outside it");
  }
  auto existing = runtime::readLocalFile(path);
  if (existing.ok() && *existing != kubeconfig && !force) {
    return failedPrecondition(path +
                              " exists and holds something else; pass --force to replace it");
  }
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  return runtime::writeFileAtomically(path, kubeconfig, 0600);
}

Status run(const ParsedArgs& args, const resources::DesiredState& state, Io io) {
  auto server = frontendServer(state, args.get("--load-balancer"));
  if (!server.ok()) return server.status();
  auto choice = chooseCertificate(state, args.get("--user"), args.get("--bundle"));
  if (!choice.ok()) return choice.status();
  auto material = storedMaterial(*choice, std::chrono::system_clock::now(), io.err);
  if (!material.ok()) return material.status();
  const std::string user = userName(*choice);
  auto kubeconfig =
      reconcilers::renderKubeconfig(choice->bundle->clusterName, *server, user, material->caPem,
                                    material->certPem, material->key.pem);
  if (!kubeconfig.ok()) return kubeconfig.status();
  if (!args.has("--out")) {
    io.out << *kubeconfig;
    return okStatus();
  }
  const std::string out = args.get("--out");
  if (Status s = writeOut(out, *kubeconfig, args.has("--force")); !s.ok()) return s;
  io.out << "wrote " << out << " (0600): user " << user << " (certificate "
         << choice->bundle->name() << "/" << choice->certificate->name << ", until "
         << day(material->check.info.notAfter) << "), server " << *server << "\n";
  return okStatus();
}

}  // namespace

int runKubeconfig(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("kubeconfig", args, kOptions, kHelp, kExit, io.out, io.err, code);
  if (!parsed) return code;
  if (!parsed->has("--filename") || !parsed->positional.empty()) {
    io.err << "kthw kubeconfig: give the documents with -f PATH\n";
    return kExitUsage;
  }
  if (parsed->has("--force") && !parsed->has("--out")) {
    io.err << "kthw kubeconfig: --force only applies to --out FILE\n";
    return kExitUsage;
  }
  resources::LoadOutcome loaded = resources::loadDesiredState(parsed->all("--filename"), io.in);
  if (!loaded.ok()) {
    for (const std::string& line : loaded.errorLines()) io.err << line << "\n";
    io.err << "kthw kubeconfig: the desired state is invalid\n";
    return kExitUsage;
  }
  Status s = run(*parsed, loaded.state, io);
  if (s.ok()) return kExitOk;
  io.err << "kthw kubeconfig: " << s.message() << "\n";
  return exitCodeFor(s);
}

}  // namespace kthw::cli
