#include "reconcilers/preflight.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "runtime/pki.h"

namespace kthw::reconcilers {
namespace {

std::optional<int> portNumber(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > 65535) return std::nullopt;
  return v;
}

// The ports of a comma-separated URL list: "https://10.0.0.1:2379,https://127.0.0.1:2379".
std::vector<int> urlPorts(const std::string& urls) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= urls.size()) {
    const size_t comma = std::min(urls.find(',', start), urls.size());
    std::string_view url(urls.data() + start, comma - start);
    if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) {
      url.remove_prefix(scheme + 3);
    }
    url = url.substr(0, url.find('/'));
    if (const size_t colon = url.rfind(':');
        colon != std::string_view::npos && url.find(']', colon) == std::string_view::npos) {
      if (auto p = portNumber(url.substr(colon + 1)); p && *p > 0) out.push_back(*p);
    }
    start = comma + 1;
  }
  return out;
}

const resources::Flag* findFlag(const resources::ControlPlaneService& s, const std::string& name) {
  for (const resources::Flag& f : s.flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<std::string> resolvedFlag(const resources::ControlPlaneService& s,
                                        const std::string& name, const resources::Host& host,
                                        const resources::Substituter& sub) {
  const resources::Flag* f = findFlag(s, name);
  if (f == nullptr || f->bare) return std::nullopt;
  resources::Diagnostics ignored;  // the unit's rendering reports them
  return sub.resolve(f->value, &host, ignored);
}

std::string joined(const std::vector<int>& ports) {
  std::string out;
  for (int p : ports) out += (out.empty() ? "" : ", ") + std::to_string(p);
  return out;
}

}  // namespace

std::optional<std::string> clockSkewProblem(const runtime::ProbeResult& observed,
                                            std::chrono::seconds bound) {
  if (!observed.clockSkew) return std::nullopt;
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(*observed.clockSkew);
  const auto off = skew < std::chrono::seconds(0) ? -skew : skew;
  if (off <= bound) return std::nullopt;
  const auto backdate = std::chrono::seconds(runtime::kNotBeforeBackdate);
  const std::string why =
      skew < std::chrono::seconds(0) && off >= backdate
          ? "certificates kthw issues (valid from " + std::to_string(backdate.count()) +
                "s before issue) are not yet valid there"
          : "certificates and tokens are judged by each host's clock, and hosts apart by more "
            "than a minute reject each other's tokens";
  return "preflight: clock is " + std::to_string(off.count()) + "s " +
         (skew < std::chrono::seconds(0) ? "behind" : "ahead of") + " this machine (bound " +
         std::to_string(bound.count()) + "s): " + why +
         "; sync the clock (chrony, systemd-timesyncd)";
}

std::vector<int> servicePorts(const resources::ControlPlaneService& s, const resources::Host& host,
                              const resources::Substituter& sub) {
  std::vector<int> ports;
  auto add = [&](int p) {
    if (p > 0 && std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  };
  if (s.component == "etcd") {
    for (const auto& [flag, fallback] : {std::pair<const char*, int>{"listen-client-urls", 2379},
                                         {"listen-peer-urls", 2380},
                                         {"listen-metrics-urls", 0}}) {
      auto value = resolvedFlag(s, flag, host, sub);
      if (!value) {
        add(fallback);
        continue;
      }
      for (int p : urlPorts(*value)) add(p);
    }
    return ports;
  }
  const int fallback = s.component == "kube-apiserver"            ? 6443
                       : s.component == "kube-controller-manager" ? 10257
                       : s.component == "kube-scheduler"          ? 10259
                                                                  : 0;
  auto value = resolvedFlag(s, "secure-port", host, sub);
  if (!value) {
    add(fallback);
  } else if (auto p = portNumber(*value)) {
    add(*p);
  }
  return ports;
}

bool runsKubelet(const resources::ControlPlaneService& s) {
  return s.component == "kubelet" || std::filesystem::path(s.binary.path).filename() == "kubelet";
}

std::optional<std::string> portProblem(const std::string& resource, int port,
                                       const std::vector<std::string>& owners, bool ownerRunning,
                                       const runtime::ProbeResult& observed) {
  for (const runtime::PortListener& l : observed.listeners) {
    if (l.port != port) continue;
    if (std::find(owners.begin(), owners.end(), l.unit) != owners.end()) continue;
    if (l.pid.empty()) {
      if (ownerRunning) continue;
      return resource + ": preflight: port " + std::to_string(port) +
             " is held by a process ss does not name (is kthw root there?); free the port or "
             "change it";
    }
    return resource + ": preflight: port " + std::to_string(port) + " is held by " +
           (l.process.empty() ? "a process" : l.process) + " (pid " + l.pid +
           (l.unit.empty() ? "" : ", " + l.unit) + "); stop it or change the port";
  }
  return std::nullopt;
}

std::vector<std::string> portProblems(const std::string& resource, const std::vector<int>& ports,
                                      const std::vector<std::string>& owners, bool ownerRunning,
                                      const runtime::ProbeResult& observed) {
  if (ports.empty()) return {};
  if (observed.ssMissing) {
    return {resource + ": preflight: port" + (ports.size() > 1 ? "s " : " ") + joined(ports) +
            " could not be checked: ss is missing; install iproute2"};
  }
  if (observed.ssFailed) {
    return {resource + ": preflight: port" + (ports.size() > 1 ? "s " : " ") + joined(ports) +
            " could not be checked: `ss -H -ltnpe` failed there (iproute2 4.14 or later is "
            "needed)"};
  }
  if (!observed.listenersKnown) return {};
  std::vector<std::string> out;
  for (int p : ports) {
    if (auto problem = portProblem(resource, p, owners, ownerRunning, observed)) {
      out.push_back(std::move(*problem));
    }
  }
  return out;
}

std::optional<std::string> commandProblem(const std::string& resource, const std::string& command,
                                          const std::string& usedFor, const std::string& fix,
                                          const runtime::ProbeResult& observed) {
  auto it = observed.commands.find(command);
  if (it == observed.commands.end() || it->second) return std::nullopt;
  return resource + ": preflight: " + command + " is missing (" + usedFor + "); " + fix;
}

std::optional<std::string> swapProblem(const std::string& resource,
                                       const runtime::ProbeResult& observed) {
  if (!observed.swapOn.value_or(false)) return std::nullopt;
  return resource +
         ": preflight: swap is on, and the kubelet does not start with swap; turn it off "
         "(swapoff -a, and remove the swap entries of /etc/fstab)";
}

}  // namespace kthw::reconcilers
