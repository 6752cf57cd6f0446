#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// One thing a host is told to do that is not a file write: a systemd unit operation, a kernel
// module, running sysctls, a symlink, a wait, a check. Reconcilers plan these as values;
// commandScript, here in runtime, is the one place that turns them into shell text (and quotes
// every value there), and a fake host can act them out without reading any shell.
struct HostCommand {
  enum class Kind {
    kNone,
    kDaemonReload,        // systemctl daemon-reload
    kEnableUnit,          // name: the unit
    kDisableUnitNow,      // stop and disable the unit
    kStartUnit,           // noBlock: queue the start and return
    kRestartUnit,         //
    kReloadUnit,          //
    kCheckUnitActive,     // exits 0 when the unit is active
    kLoadModule,          // name: the module
    kSetSysctls,          // values: key, value; written to /proc/sys in order
    kLink,                // name: the link, target: what it points to
    kWaitPortReleased,    // port: no listener on it within 5 s
    kCheckHttps,          // target: the URL; ca, cert, key: curl's TLS files (may be empty)
    kHaproxyServerState,  // target/name: backend/server; state; socket: haproxy's admin socket
    kHttpRequest          // method, target: the URL, ca/cert/key, header, body; prints the answer
  };
  Kind kind = Kind::kNone;
  std::string name;
  std::string target;
  std::string state;
  std::string socket;
  std::string ca;
  std::string cert;
  std::string key;
  std::string method;
  std::string header;
  std::string body;
  int port = 0;
  bool noBlock = false;
  std::vector<std::pair<std::string, std::string>> values;

  bool empty() const { return kind == Kind::kNone; }
  bool operator==(const HostCommand&) const = default;

  static HostCommand daemonReload();
  static HostCommand unit(Kind kind, std::string unit);
  static HostCommand loadModule(std::string module);
  static HostCommand setSysctls(std::vector<std::pair<std::string, std::string>> values);
  static HostCommand link(std::string path, std::string target);
  static HostCommand waitPortReleased(int port);
  static HostCommand checkHttps(std::string url, std::string ca, std::string cert, std::string key);
  static HostCommand httpRequest(std::string method, std::string url);
  // haproxy's admin-socket line splits on blanks and ';' and reads backslash escapes: only a
  // name of letters, digits, '.', '-' and '_' (every valid Host name) can be carried.
  static StatusOr<HostCommand> haproxyServerState(std::string backend, const std::string& server,
                                                  std::string state, std::string socket);
};

// The shell text the host runs for `command` (empty for kNone). Every value in it is quoted.
std::string commandScript(const HostCommand& command);
// One line naming the command for messages ("systemctl restart kube-scheduler.service",
// "health check https://127.0.0.1:2379/health"); control characters shown as '?'.
std::string describeCommand(const HostCommand& command);

// A check of a configuration before it replaces the old one (FileSpec::check; the new content
// is in "$t"): haproxy's own check, or nginx -t on a minimal main configuration that includes
// it in the stream context (with the distribution's modules, where the stream module may live)
// or in the http context.
enum class ConfigCheck { kHaproxy, kNginxStream, kNginxHttp };
std::string configCheckScript(ConfigCheck check);

}  // namespace kthw::runtime
