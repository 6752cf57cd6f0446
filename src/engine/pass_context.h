#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/host_pass.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/bundle_material.h"
#include "reconcilers/certificate_inventory.h"
#include "reconcilers/control_plane_service_reconciler.h"
#include "reconcilers/host_reconciler.h"
#include "reconcilers/load_balancer_reconciler.h"
#include "resources/desired_state.h"
#include "runtime/clock.h"
#include "runtime/secret_store.h"

namespace kthw::engine {

// Everything one pass over the hosts needs besides connections: the secret stores (locked for
// the pass), each bundle's material, and the per-kind reconcilers.
class PassContext {
 public:
  // With `generate`, missing or outdated material is issued into the stores (apply, render);
  // without, stores are only read and what is missing is reported as pending (diff).
  // `withBinaries` reads local binaries and fetches URL checksums (and, with `generate`, the
  // binaries); render, which needs neither, skips it.
  static StatusOr<std::unique_ptr<PassContext>> create(const resources::DesiredState& state,
                                                       bool generate,
                                                       std::chrono::system_clock::time_point now,
                                                       bool withBinaries = true);

  const std::vector<const reconcilers::HostScopedReconciler*>& reconcilers() const {
    return reconcilers_;
  }
  const std::map<std::string, reconcilers::BundleMaterial>& material() const { return material_; }
  // A TLS request through every load balancer that has a routeCheck (diff observes them before
  // the pass; apply after it, to report the result).
  // After an apply, checks are retried for up to `patience`: a load balancer that was just
  // (re)configured takes its backends' health checks (rise) before it routes.
  const std::map<std::string, Status>& checkRoutes(
      const resources::DesiredState& state, std::chrono::seconds patience = std::chrono::seconds(0),
      const runtime::Clock& clock = runtime::steadyClock());
  // What a read-only pass found still to be issued, one line per bundle that has any
  // ("CertificateBundle/x: ca, admin (absent)").
  std::vector<std::string> pendingMaterial(const resources::DesiredState& state) const;
  // One line per LoadBalancer whose route is not checked because its authority is still to be
  // issued.
  std::vector<std::string> routesAwaitingMaterial(const resources::DesiredState& state) const;
  // After an apply that reached every host: lets staged key rotations take their next step,
  // except for a bundle that a host refused (`outcomes`): its keys are not everywhere.
  Status recordDistributed(const resources::DesiredState& state,
                           const std::vector<engine::HostOutcome>& outcomes);
  // One line for each store that create loaded from its sealed file (commands print them).
  const std::vector<std::string>& sealedLoads() const { return sealedLoads_; }
  // After a pass that wrote to the stores (create with `generate`, recordDistributed): seals
  // each store whose bundle has a spec.sealedStore and whose content changed (sealStore), one
  // line on `out` for each sealed file written. Does nothing after a read-only pass.
  Status sealStores(const resources::DesiredState& state, std::ostream& out);

 private:
  explicit PassContext(const resources::DesiredState& state)
      : hostBasics_(),
        bundles_(state, material_),
        services_(state, binaries_),
        loadBalancers_(state, routes_) {}

  bool generate_ = false;
  std::vector<std::string> sealedLoads_;
  std::vector<std::unique_ptr<runtime::SecretStore>> stores_;
  std::map<std::string, runtime::SecretStore*> storeOfBundle_;
  std::map<std::string, reconcilers::BundleMaterial> material_;
  reconcilers::HostBasicsReconciler hostBasics_;
  reconcilers::CertificateBundleReconciler bundles_;
  std::map<std::string, reconcilers::BinarySource> binaries_;
  reconcilers::ControlPlaneServiceReconciler services_;
  std::map<std::string, Status> routes_;
  reconcilers::LoadBalancerReconciler loadBalancers_;
  std::vector<const reconcilers::HostScopedReconciler*> reconcilers_;
};

// Who takes a host's writer lock: "kthw-<command> user@machine pid N".
std::string lockOwner(const std::string& command);

// The kinds diff and apply reconcile on hosts.
const std::vector<std::string>& hostKinds();

// The secret store directory of a bundle: spec.secretStore (with ~ expanded) or the default.
std::string secretStoreDir(const resources::CertificateBundle& bundle);

// Brings every store whose bundle has a spec.sealedStore up to its sealed file
// (loadSealedStore), once per store directory, before the store is opened; refuses two bundles
// that share a store but name different sealed files. PassContext::create and
// readStoredCertificates call it; so does any command that reads a store on its own.
// Returns one line for each store that was replaced by its sealed file.
StatusOr<std::vector<std::string>> loadSealedStores(const resources::DesiredState& state);

// The certificates the secret stores hold (what kthw certs and verify judge), read-only; a store
// that does not exist yet holds nothing.
StatusOr<reconcilers::StoredCertificates> readStoredCertificates(
    const resources::DesiredState& state);

}  // namespace kthw::engine
