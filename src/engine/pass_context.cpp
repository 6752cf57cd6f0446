#include "engine/pass_context.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "engine/binary_sources.h"
#include "engine/route_checks.h"
#include "engine/sealed_store.h"

namespace kthw::engine {

std::string lockOwner(const std::string& command) {
  char machine[256] = {};
  if (gethostname(machine, sizeof machine - 1) != 0) machine[0] = 0;
  const passwd* pw = getpwuid(getuid());
  std::string owner = "kthw-" + command + " " +
                      (pw != nullptr ? pw->pw_name : "uid" + std::to_string(getuid())) + "@" +
                      machine + " pid " + std::to_string(getpid());
  // The owner travels in a shell word and a one-line file: keep it to plain characters.
  for (char& c : owner) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 &&
        std::string_view("@._:- ").find(c) == std::string_view::npos)
      c = '_';
  }
  return owner;
}

const std::vector<std::string>& hostKinds() {
  static const std::vector<std::string> kKinds = {"Host", "CertificateBundle",
                                                  "ControlPlaneService", "LoadBalancer"};
  return kKinds;
}

std::string secretStoreDir(const resources::CertificateBundle& bundle) {
  if (bundle.secretStore.empty()) return runtime::defaultSecretStoreDir(bundle.clusterName);
  if (bundle.secretStore.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + bundle.secretStore.substr(1);
  }
  return bundle.secretStore;
}

StatusOr<std::vector<std::string>> loadSealedStores(const resources::DesiredState& state) {
  std::vector<std::string> loads;
  std::map<std::string, const resources::CertificateBundle*> sealedOfDir;
  for (const resources::CertificateBundle& b : state.bundles) {
    if (!b.sealedStore) continue;
    const std::string dir = secretStoreDir(b);
    auto [it, first] = sealedOfDir.emplace(dir, &b);
    if (!first) {
      if (sealedStorePath(*it->second->sealedStore) != sealedStorePath(*b.sealedStore)) {
        return invalidArgument("CertificateBundle/" + b.name() + " and CertificateBundle/" +
                               it->second->name() + " share the secret store " + dir +
                               " but name different spec.sealedStore.file: give them one");
      }
      continue;
    }
    auto loaded = loadSealedStore(b, dir);
    if (!loaded.ok()) return loaded.status();
    if (*loaded) {
      loads.push_back("CertificateBundle/" + b.name() + ": secret store " + dir +
                      " loaded from the sealed store " + sealedStorePath(*b.sealedStore));
    }
  }
  return loads;
}

StatusOr<std::unique_ptr<PassContext>> PassContext::create(
    const resources::DesiredState& state, bool generate, std::chrono::system_clock::time_point now,
    bool withBinaries) {
  auto loads = loadSealedStores(state);
  if (!loads.ok()) return loads.status();
  std::unique_ptr<PassContext> ctx(new PassContext(state));
  ctx->sealedLoads_ = std::move(*loads);
  ctx->generate_ = generate;
  std::map<std::string, runtime::SecretStore*> byDir;
  for (const resources::CertificateBundle& b : state.bundles) {
    const std::string dir = secretStoreDir(b);
    runtime::SecretStore* store = nullptr;
    if (auto it = byDir.find(dir); it != byDir.end()) {
      store = it->second;
    } else {
      auto opened = runtime::SecretStore::open(
          dir, generate ? runtime::SecretStore::Mode::kWrite : runtime::SecretStore::Mode::kRead);
      if (opened.ok()) {
        store = opened->get();
        ctx->stores_.push_back(std::move(*opened));
      } else if (generate || opened.status().code() != StatusCode::kNotFound) {
        return Status(opened.status().code(),
                      "CertificateBundle/" + b.name() + ": " + opened.status().message());
      }
      byDir[dir] = store;
    }
    ctx->storeOfBundle_[b.name()] = store;
    auto material = reconcilers::prepareMaterial(state, b, store, generate, now);
    if (!material.ok()) {
      return Status(material.status().code(),
                    "CertificateBundle/" + b.name() + ": " + material.status().message());
    }
    ctx->material_[b.name()] = std::move(*material);
  }
  if (withBinaries) {
    auto binaries = engine::loadBinaries(state);
    if (!binaries.ok()) return binaries.status();
    ctx->binaries_ = std::move(*binaries);
    if (Status s =
            engine::fetchBinaries(state, engine::defaultBinaryCacheDir(), generate, ctx->binaries_);
        !s.ok()) {
      return s;
    }
  }
  // Order matters: a service restarts when the files of the kinds before it change.
  ctx->reconcilers_ = {&ctx->hostBasics_, &ctx->bundles_, &ctx->services_, &ctx->loadBalancers_};
  return ctx;
}

const std::map<std::string, Status>& PassContext::checkRoutes(const resources::DesiredState& state,
                                                              std::chrono::seconds patience,
                                                              const runtime::Clock& clock) {
  const auto deadline = clock.now() + patience;
  while (true) {
    routes_ = engine::checkRoutes(state, material_);
    const bool allOk =
        std::all_of(routes_.begin(), routes_.end(), [](const auto& r) { return r.second.ok(); });
    if (allOk || clock.now() >= deadline) return routes_;
    clock.sleepFor(std::chrono::seconds(1));
  }
}

std::vector<std::string> PassContext::pendingMaterial(const resources::DesiredState& state) const {
  std::vector<std::string> lines;
  for (const auto& [bundle, m] : material_) {
    if (m.pending.empty()) continue;
    // Names grouped by reason, reasons in the order the bundle declares its material.
    std::vector<std::pair<std::string, std::string>> byReason;
    for (const resources::CertificateBundle& b : state.bundles) {
      if (b.name() != bundle) continue;
      std::vector<std::string> names;
      for (const auto& a : b.authorities) names.push_back(a.name);
      for (const auto& c : b.certificates) names.push_back(c.name);
      for (const auto& k : b.keyPairs) names.push_back(k.name);
      for (const auto& e : b.encryptionConfigs) names.push_back(e.name);
      for (const std::string& name : names) {
        if (m.pending.count(name) == 0) continue;
        auto reason = m.reasons.find(name);
        const std::string why = reason == m.reasons.end() ? "pending" : reason->second;
        auto group = std::find_if(byReason.begin(), byReason.end(),
                                  [&](const auto& g) { return g.first == why; });
        if (group == byReason.end()) {
          byReason.emplace_back(why, name);
        } else {
          group->second += ", " + name;
        }
      }
    }
    std::string line = "CertificateBundle/" + bundle + ":";
    for (size_t i = 0; i < byReason.size(); ++i) {
      line += (i == 0 ? " " : "; ") + byReason[i].second + " (" + byReason[i].first + ")";
    }
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> PassContext::routesAwaitingMaterial(
    const resources::DesiredState& state) const {
  std::vector<std::string> lines;
  for (const resources::LoadBalancer& lb : state.loadBalancers) {
    if (lb.routeBundle.empty()) continue;
    auto m = material_.find(lb.routeBundle);
    if (m != material_.end() && m->second.has(lb.routeAuthority)) continue;
    lines.push_back("LoadBalancer/" + lb.name() + ": route not checked until its authority " +
                    lb.routeAuthority + " is issued");
  }
  return lines;
}

Status PassContext::recordDistributed(const resources::DesiredState& state,
                                      const std::vector<engine::HostOutcome>& outcomes) {
  for (const resources::CertificateBundle& b : state.bundles) {
    runtime::SecretStore* store = storeOfBundle_[b.name()];
    if (store == nullptr) continue;
    const std::string resource = "CertificateBundle/" + b.name();
    const bool refused = std::any_of(outcomes.begin(), outcomes.end(), [&](const auto& o) {
      return std::find(o.plan.guarded.begin(), o.plan.guarded.end(), resource) !=
             o.plan.guarded.end();
    });
    if (refused) continue;
    if (Status s = reconcilers::recordDistributed(b, material_.at(b.name()), *store); !s.ok()) {
      return s;
    }
  }
  return okStatus();
}

Status PassContext::sealStores(const resources::DesiredState& state, std::ostream& out) {
  if (!generate_) return okStatus();
  std::set<const runtime::SecretStore*> sealed;
  for (const resources::CertificateBundle& b : state.bundles) {
    const runtime::SecretStore* store = storeOfBundle_[b.name()];
    if (store == nullptr || !b.sealedStore || !sealed.insert(store).second) continue;
    auto written = sealStore(b, store->dir(), out);
    if (!written.ok()) return written.status();
  }
  return okStatus();
}

StatusOr<reconcilers::StoredCertificates> readStoredCertificates(
    const resources::DesiredState& state) {
  if (auto loads = loadSealedStores(state); !loads.ok()) return loads.status();
  reconcilers::StoredCertificates stored;
  std::map<std::string, std::unique_ptr<runtime::SecretStore>> open;
  for (const resources::CertificateBundle& b : state.bundles) {
    const std::string dir = secretStoreDir(b);
    if (open.count(dir) == 0) {
      auto store = runtime::SecretStore::open(dir, runtime::SecretStore::Mode::kRead);
      if (!store.ok() && store.status().code() != StatusCode::kNotFound) {
        return Status(store.status().code(),
                      "CertificateBundle/" + b.name() + ": " + store.status().message());
      }
      open[dir] = store.ok() ? std::move(*store) : nullptr;
    }
    const runtime::SecretStore* store = open[dir].get();
    if (store == nullptr) continue;
    auto keep = [&](const std::string& name) {
      if (auto pem = reconcilers::storedCertificatePem(b, *store, name)) {
        stored[b.name()][name] = std::move(*pem);
      }
    };
    for (const auto& a : b.authorities) keep(a.name);
    for (const auto& c : b.certificates) keep(c.name);
  }
  return stored;
}

}  // namespace kthw::engine
