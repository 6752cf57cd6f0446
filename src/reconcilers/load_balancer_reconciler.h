#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "reconcilers/bundle_material.h"
#include "reconcilers/host_reconciler.h"

namespace kthw::reconcilers {

// Kind LoadBalancer on hosts. On the LB host: the one configuration file kthw owns (haproxy's
// whole config, or an nginx stream file plus its include in nginx.conf), checked on the host
// (haproxy -c, nginx -t) before it replaces the old one, applied with a reload so open
// connections survive; the other implementation's kthw config is removed and its service
// stopped when the implementation changes. On the controllers: the optional nginx /healthz
// proxy site. Route checks (a TLS request through the frontend) are observed by the caller and
// passed in: a config that looks right but does not route is drift.
class LoadBalancerReconciler : public HostScopedReconciler {
 public:
  LoadBalancerReconciler(const resources::DesiredState& state,
                         const std::map<std::string, Status>& routes)
      : state_(state), routes_(routes) {}

  std::string kind() const override { return "LoadBalancer"; }
  void observe(const resources::Host& host, runtime::ProbeRequest& request) const override;
  void diff(const resources::Host& host, const runtime::ProbeResult& observed,
            HostPlan& plan) const override;

 private:
  void diffFrontend(const resources::LoadBalancer& lb, const runtime::ProbeResult& observed,
                    HostPlan& plan) const;
  void diffHealthzProxy(const resources::LoadBalancer& lb, const runtime::ProbeResult& observed,
                        HostPlan& plan) const;

  const resources::DesiredState& state_;
  const std::map<std::string, Status>& routes_;
};

// https://FRONTEND:PORT followed by routeCheck.path, its segments percent-encoded.
StatusOr<std::string> routeCheckUrl(const resources::LoadBalancer& lb);

}  // namespace kthw::reconcilers
