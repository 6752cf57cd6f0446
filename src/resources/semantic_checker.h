#pragma once

// The checker behind checkDesiredState, shared by semantic_checks.cpp (hosts, bundles, targets)
// and semantic_checks_services.cpp (services, load balancers, CIDRs, RBAC references).

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "resources/semantic_checks.h"
#include "resources/substitution.h"

namespace kthw::resources::semantic {

// "FILE:LINE" of a mark, for "first defined at" notes.
inline std::string at(const Mark& m) { return m.fileName() + ":" + std::to_string(m.line); }

class Checker {
 public:
  Checker(const DesiredState& state, Diagnostics& out)
      : state_(state), out_(out), substituter_(state) {
    for (const Host& h : state.hosts) hostNames_.insert(h.name());
  }

  void run();

 private:
  void fail(const Mark& mark, std::string path, std::string message) {
    out_.push_back(Diagnostic{mark, std::move(path), std::move(message)});
  }

  // A problem that is only that the state lacks a resource (`name` empty for a selector):
  // buildDesiredState drops it when a document that may have declared it did not load.
  void failMissing(const Mark& mark, std::string path, std::string message, std::string kind,
                   std::string name) {
    out_.push_back(Diagnostic{mark, std::move(path), std::move(message),
                              MissingResource{std::move(kind), std::move(name)}});
  }

  // Reports names and selectors that match no Host; returns the hosts selected.
  std::vector<const Host*> checkTarget(const HostTarget& t);
  void checkProxyJump(const Host& h);
  void checkBundle(const CertificateBundle& b);
  void checkBundleFiles(const CertificateBundle& b);
  void checkSealedStore(const SealedStore& s);
  void checkService(const ControlPlaneService& s);
  void checkServiceOnHost(const ControlPlaneService& s, const Host& h);
  void checkLoadBalancer(const LoadBalancer& lb);
  void checkClusterCidrs();
  void checkRoleRefs();
  void claimPath(const Host& h, const std::string& path, const Mark& mark,
                 const std::string& fieldPath, const std::string& owner);

  const DesiredState& state_;
  Diagnostics& out_;
  Substituter substituter_;
  std::unordered_set<std::string> hostNames_;  // lookups by name stay O(1) with many hosts
  // host -> path -> who places it there
  std::map<std::string, std::map<std::string, std::string>> paths_;
  std::map<std::string, std::map<std::string, std::string>> components_;
};

}  // namespace kthw::resources::semantic
