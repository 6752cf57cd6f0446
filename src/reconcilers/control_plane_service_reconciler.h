#pragma once

#include <map>
#include <string>

#include "reconcilers/binary_source.h"
#include "reconcilers/host_reconciler.h"

namespace kthw::reconcilers {

// Kind ControlPlaneService on hosts: the binary (sha256-verified), config files and the systemd
// unit rendered per host; daemon-reload when a unit changed, enable, and a start or restart
// when the service is down or one of its inputs changed — its binary, unit, config files, or a
// certificate, key or kubeconfig that its flags or config files name. Restarts roll one host at
// a time behind the component's health check (see Action::Rollout).
//
// Must run after the Host and CertificateBundle reconcilers in one plan: their writes to files
// the service reads are what triggers its restart, and a service that reads a file the guard
// leaves as it is on a host (HostPlan::guardedFiles) is held back there: a problem, and no
// write, install, start or restart on that host (see service_hold_back.h).
class ControlPlaneServiceReconciler : public HostScopedReconciler {
 public:
  ControlPlaneServiceReconciler(const resources::DesiredState& state,
                                const std::map<std::string, BinarySource>& binaries)
      : state_(state), binaries_(binaries) {}

  std::string kind() const override { return "ControlPlaneService"; }
  void observe(const resources::Host& host, runtime::ProbeRequest& request) const override;
  void diff(const resources::Host& host, const runtime::ProbeResult& observed,
            HostPlan& plan) const override;

  // The service's health check on `host`, as a script for the host.
  HealthProbe healthProbe(const resources::ControlPlaneService& s,
                          const resources::Host& host) const;

 private:
  void diffService(const resources::ControlPlaneService& s, const resources::Host& host,
                   const runtime::ProbeResult& observed, HostPlan& plan) const;

  const resources::DesiredState& state_;
  const std::map<std::string, BinarySource>& binaries_;
};

// Services start in this order: etcd, kube-apiserver, kube-controller-manager, kube-scheduler.
int componentOrder(const std::string& component);

}  // namespace kthw::reconcilers
