#pragma once

#include <string>

#include "reconcilers/plan.h"
#include "resources/desired_state.h"
#include "runtime/host_probe.h"

namespace kthw::reconcilers {

// The share of one kind's reconciliation that concerns one host: what to observe there, and a
// pure diff from what was observed to what is desired. Every kind that places things on hosts
// implements it; one probe per host serves all of them.
class HostScopedReconciler {
 public:
  virtual ~HostScopedReconciler() = default;
  virtual std::string kind() const = 0;
  virtual void observe(const resources::Host& host, runtime::ProbeRequest& request) const = 0;
  virtual void diff(const resources::Host& host, const runtime::ProbeResult& observed,
                    HostPlan& plan) const = 0;
  // Whether diff records what the guard leaves as it is (HostPlan::guarded, guardedFiles), which
  // the kinds after it must leave alone too. Such a reconciler takes part in every pass, its kind
  // selected or not; unselected, only what it records there is kept.
  virtual bool guardsHost() const { return false; }
};

// Kind Host: /etc/hosts entries (a managed block; other lines are never touched), directories
// with owner and mode, sysctls (a file in /etc/sysctl.d plus the running values), kernel
// modules (a file in /etc/modules-load.d plus modprobe).
class HostBasicsReconciler : public HostScopedReconciler {
 public:
  std::string kind() const override { return "Host"; }
  void observe(const resources::Host& host, runtime::ProbeRequest& request) const override;
  void diff(const resources::Host& host, const runtime::ProbeResult& observed,
            HostPlan& plan) const override;
};

inline constexpr const char* kEtcHosts = "/etc/hosts";
inline constexpr const char* kSysctlFile = "/etc/sysctl.d/90-kthw.conf";
inline constexpr const char* kModulesFile = "/etc/modules-load.d/kthw.conf";

// The managed /etc/hosts block for `host`, markers included; empty when it has no entries.
std::string etcHostsBlock(const resources::Host& host);

}  // namespace kthw::reconcilers
