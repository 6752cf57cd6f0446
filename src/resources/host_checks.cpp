#include "resources/host_checks.h"

#include <map>
#include <regex>

#include "resources/formats.h"

namespace kthw::resources {

void checkHost(const Host& h, Diagnostics& out) {
  auto fail = [&](const Mark& mark, std::string path, std::string message) {
    out.push_back(Diagnostic{mark, std::move(path), std::move(message)});
  };
  const bool numeric =
      !h.address.empty() && h.address.find_first_not_of("0123456789.") == std::string::npos;
  if (numeric && !isIPv4(h.address)) {
    fail(h.marks.of("address"), "spec.address",
         quoteValue(h.address) + " is not a valid IPv4 address");
  }
  if (h.transport == TransportKind::kSsh && h.ssh.identityFile.empty() && !h.ssh.useAgent) {
    fail(h.marks.of("ssh"), "spec.ssh",
         "set identityFile or useAgent: true so that kthw can authenticate");
  }
  std::map<std::string, size_t> ips;
  for (size_t i = 0; i < h.etcHosts.size(); ++i) {
    if (!ips.emplace(h.etcHosts[i].ip, i).second) {
      fail(h.etcHosts[i].marks.of("ip"), "spec.etcHosts[" + std::to_string(i) + "].ip",
           "duplicate /etc/hosts entry for " + h.etcHosts[i].ip);
    }
  }
  // The key becomes a path under /proc/sys: segments of [a-z0-9_-], never empty or dots.
  static const std::regex kSysctl("^[a-z0-9_-]+([./][a-z0-9_-]+)*$");
  for (const auto& [key, value] : h.sysctls) {
    if (!std::regex_match(key, kSysctl)) {
      fail(h.sysctlMarks.of(key), appendFieldPath("spec.sysctls", key), "not a sysctl name");
    }
  }
}

}  // namespace kthw::resources
