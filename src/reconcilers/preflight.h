#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "resources/control_plane_service.h"
#include "resources/host.h"
#include "resources/substitution.h"
#include "runtime/host_probe.h"

namespace kthw::reconcilers {

// Preflight: what on a host would keep what kthw installs from working and no action of kthw can
// change — a port another process holds, a command that is missing, swap under a kubelet, a clock
// off from this machine's. Each is found from the pass's one probe and reported as a problem
// that names what is wrong and the fix; every check runs, so one pass reports them all.

// Host clocks are compared with this machine's. Two hosts each within 30s of it are within 60s
// of each other, the leeway Kubernetes allows on token times, and far within the backdating of
// the certificates kthw issues (runtime::kNotBeforeBackdate).
inline constexpr std::chrono::seconds kDefaultMaxClockSkew{30};

// "preflight: clock is 94s ahead of this machine (bound 30s): ..." when the measured skew is
// beyond `bound`; nullopt when it is within, or was not measured.
std::optional<std::string> clockSkewProblem(const runtime::ProbeResult& observed,
                                            std::chrono::seconds bound);

// The TCP ports a ControlPlaneService listens on, from its flags as rendered for `host` (with the
// component's defaults where a flag is absent); a port 0 (disabled) is left out.
std::vector<int> servicePorts(const resources::ControlPlaneService& service,
                              const resources::Host& host, const resources::Substituter& sub);

// Whether the service runs a kubelet (which refuses to start with swap on).
bool runsKubelet(const resources::ControlPlaneService& service);

// `resource` needs `port`; `owners` are the systemd units that may hold it (the resource's own
// service). A port held by another process is a problem. A listener ss cannot name (kthw not
// root there) counts as the service's own while `ownerRunning`.
std::optional<std::string> portProblem(const std::string& resource, int port,
                                       const std::vector<std::string>& owners, bool ownerRunning,
                                       const runtime::ProbeResult& observed);

// Problems for every port of `ports` that portProblem finds, or one problem when the ports could
// not be checked (no ss on the host).
std::vector<std::string> portProblems(const std::string& resource, const std::vector<int>& ports,
                                      const std::vector<std::string>& owners, bool ownerRunning,
                                      const runtime::ProbeResult& observed);

// "<resource>: preflight: curl is missing (<usedFor>); <fix>" when the probe found no `command`.
std::optional<std::string> commandProblem(const std::string& resource, const std::string& command,
                                          const std::string& usedFor, const std::string& fix,
                                          const runtime::ProbeResult& observed);

// A problem when swap is on (asked only for hosts that run a kubelet).
std::optional<std::string> swapProblem(const std::string& resource,
                                       const runtime::ProbeResult& observed);

}  // namespace kthw::reconcilers
