#pragma once

#include <map>
#include <string>

#include "reconcilers/host_reconciler.h"
#include "runtime/exec_input.h"

namespace kthw::reconcilers {

// Where a service's binary comes from: its sha256 and, when kthw has a copy to install (a local
// file, or a download in the binary cache), that file. The bytes are streamed to hosts from it and
// never held in memory. `local.path` stays empty for a binary the host already has (a
// distribution package, spec.binary with only a path) or one `diff` has not downloaded.
struct BinarySource {
  std::string sha256;
  runtime::LocalFile local;
};

// Kind ControlPlaneService on hosts: the binary (sha256-verified), config files and the systemd
// unit rendered per host; daemon-reload when a unit changed, enable, and a start or restart
// when the service is down or one of its inputs changed — its binary, unit, config files, or a
// certificate, key or kubeconfig that its flags or config files name. Restarts roll one host at
// a time behind the component's health check (see Action::Rollout).
//
// Must run after the Host and CertificateBundle reconcilers in one plan: their writes to files
// the service reads are what triggers its restart.
class ControlPlaneServiceReconciler : public HostScopedReconciler {
 public:
  ControlPlaneServiceReconciler(const resources::DesiredState& state,
                                const std::map<std::string, BinarySource>& binaries)
      : state_(state), binaries_(binaries) {}

  std::string kind() const override { return "ControlPlaneService"; }
  void observe(const resources::Host& host, runtime::ProbeRequest& request) const override;
  void diff(const resources::Host& host, const runtime::ProbeResult& observed,
            HostPlan& plan) const override;

 private:
  void diffService(const resources::ControlPlaneService& s, const resources::Host& host,
                   const runtime::ProbeResult& observed, HostPlan& plan) const;
  HealthProbe healthProbe(const resources::ControlPlaneService& s,
                          const resources::Host& host) const;

  const resources::DesiredState& state_;
  const std::map<std::string, BinarySource>& binaries_;
};

// Reads each service's binary from its local file (relative paths from the working directory)
// and checks it against spec.binary.sha256 when pinned. URLs are fetched by fetchBinaries.
StatusOr<std::map<std::string, BinarySource>> loadBinaries(const resources::DesiredState& state);

// For services whose binary comes from a URL: the sha256 it must have (pinned, or read from
// sha256URL) and, with `download`, its bytes — from `cacheDir` when a verified copy is there,
// else fetched over HTTPS (redirects followed) and checked before anything can be pushed.
// Without `download` (diff) only the sha256 is determined; nothing is written.
Status fetchBinaries(const resources::DesiredState& state, const std::string& cacheDir,
                     bool download, std::map<std::string, BinarySource>& binaries);

// $XDG_CACHE_HOME/kthw/binaries, or ~/.cache/kthw/binaries.
std::string defaultBinaryCacheDir();

// Services start in this order: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.
int componentOrder(const std::string& component);

}  // namespace kthw::reconcilers
