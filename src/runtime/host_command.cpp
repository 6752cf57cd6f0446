#include "runtime/host_command.h"

#include <algorithm>
#include <cctype>

#include "runtime/shell.h"

namespace kthw::runtime {
namespace {

// A word haproxy's admin-socket line carries as it is: letters, digits, '.', '-', '_'.
bool haproxyWord(const std::string& word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '-' || ch == '_';
  });
}

}  // namespace

HostCommand HostCommand::daemonReload() {
  HostCommand c;
  c.kind = Kind::kDaemonReload;
  return c;
}

HostCommand HostCommand::unit(Kind kind, std::string unit) {
  HostCommand c;
  c.kind = kind;
  c.name = std::move(unit);
  return c;
}

HostCommand HostCommand::loadModule(std::string module) {
  HostCommand c;
  c.kind = Kind::kLoadModule;
  c.name = std::move(module);
  return c;
}

HostCommand HostCommand::setSysctls(std::vector<std::pair<std::string, std::string>> values) {
  HostCommand c;
  c.kind = Kind::kSetSysctls;
  c.values = std::move(values);
  return c;
}

HostCommand HostCommand::link(std::string path, std::string target) {
  HostCommand c;
  c.kind = Kind::kLink;
  c.name = std::move(path);
  c.target = std::move(target);
  return c;
}

HostCommand HostCommand::waitPortReleased(int port) {
  HostCommand c;
  c.kind = Kind::kWaitPortReleased;
  c.port = port;
  return c;
}

HostCommand HostCommand::checkHttps(std::string url, std::string ca, std::string cert,
                                    std::string key) {
  HostCommand c;
  c.kind = Kind::kCheckHttps;
  c.target = std::move(url);
  c.ca = std::move(ca);
  c.cert = std::move(cert);
  c.key = std::move(key);
  return c;
}

HostCommand HostCommand::httpRequest(std::string method, std::string url) {
  HostCommand c;
  c.kind = Kind::kHttpRequest;
  c.method = std::move(method);
  c.target = std::move(url);
  return c;
}

StatusOr<HostCommand> HostCommand::haproxyServerState(std::string backend,
                                                      const std::string& server, std::string state,
                                                      std::string socket) {
  if (!haproxyWord(server)) {
    return invalidArgument("haproxy's admin socket cannot name the backend server " +
                           shellQuote(server));
  }
  if (!haproxyWord(backend) || !haproxyWord(state)) {
    return invalidArgument("haproxy's admin socket cannot carry backend " + shellQuote(backend) +
                           " state " + shellQuote(state));
  }
  HostCommand c;
  c.kind = Kind::kHaproxyServerState;
  c.target = std::move(backend);
  c.name = server;
  c.state = std::move(state);
  c.socket = std::move(socket);
  return c;
}

namespace {

// Text for a comment line: a line break or other control character in it would end the comment
// and start a command, so each becomes '?'.
std::string commentText(std::string text) {
  for (char& ch : text) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  return text;
}

std::string systemctl(std::string_view verb, const HostCommand& c) {
  return "systemctl " + std::string(verb) + " " + shellQuote(c.name) +
         (c.noBlock ? " --no-block" : "");
}

std::string sysctlScript(const HostCommand& c) {
  std::string out = "set -e\n";
  for (const auto& [key, value] : c.values) {
    std::string procPath = "/proc/sys/" + key;
    std::replace(procPath.begin() + 10, procPath.end(), '.', '/');
    out += "printf '%s\\n' " + shellQuote(value) + " > " + shellQuote(procPath) + "\n";
  }
  return out;
}

std::string curlTls(const HostCommand& c) {
  std::string tls;
  if (!c.ca.empty()) tls += " --cacert " + shellQuote(c.ca);
  if (!c.cert.empty() && !c.key.empty()) {
    tls += " --cert " + shellQuote(c.cert) + " --key " + shellQuote(c.key);
  }
  return tls;
}

std::string curlScript(const HostCommand& c) {
  return "command -v curl >/dev/null || { echo 'health checks need curl on the host' >&2; "
         "exit 3; }\ncurl -fsS --max-time 5" +
         curlTls(c) + " " + shellQuote(c.target) + " >/dev/null";
}

// The comment names the request where the script is logged.
std::string httpScript(const HostCommand& c) {
  const std::string method = c.method.empty() ? "GET" : c.method;
  std::string out = "# " + commentText(method + " " + c.target) + "\n" +
                    "command -v curl >/dev/null || { echo 'kthw needs curl on the host for " +
                    "this check' >&2; exit 3; }\ncurl -fsS --max-time 5";
  if (method != "GET") out += " -X " + shellQuote(method);
  out += curlTls(c);
  if (!c.header.empty()) out += " -H " + shellQuote(c.header);
  if (!c.body.empty()) out += " --data-binary " + shellQuote(c.body);
  return out + " " + shellQuote(c.target) + "\n";
}

std::string haproxyScript(const HostCommand& c) {
  const std::string line = "set server " + c.target + "/" + c.name + " state " + c.state;
  // haproxyServerState refuses such words; a command built another way fails on the host
  // instead of carrying a second admin command (';') or a line break.
  if (!haproxyWord(c.target) || !haproxyWord(c.name) || !haproxyWord(c.state)) {
    return "echo " + shellQuote("haproxy's admin socket cannot carry: " + commentText(line)) +
           " >&2; exit 1\n";
  }
  return "# haproxy: " + line + "\n" +
         "command -v socat >/dev/null || { echo 'socat is not installed; kthw reaches "
         "haproxy'\\''s admin socket with it' >&2; exit 1; }\n"
         "out=$(printf '%s\\n' " +
         shellQuote(line) + " | socat -t 5 -T 10 stdio unix-connect:" + shellQuote(c.socket) +
         ") || exit 1\n"
         "case $out in *[![:space:]]*) printf 'haproxy refused: %s\\n' \"$out\" >&2; exit 1;; "
         "esac\n";
}

}  // namespace

std::string commandScript(const HostCommand& c) {
  using Kind = HostCommand::Kind;
  switch (c.kind) {
    case Kind::kNone:
      return "";
    case Kind::kDaemonReload:
      return "systemctl daemon-reload";
    case Kind::kEnableUnit:
      return systemctl("enable --quiet", c);
    case Kind::kDisableUnitNow:
      return systemctl("disable --now --quiet", c);
    case Kind::kStartUnit:
      return systemctl("start", c);
    case Kind::kRestartUnit:
      return systemctl("restart", c);
    case Kind::kReloadUnit:
      return systemctl("reload", c);
    case Kind::kCheckUnitActive:
      return systemctl("is-active --quiet", c);
    case Kind::kLoadModule:
      return "modprobe -- " + shellQuote(c.name);
    case Kind::kSetSysctls:
      return sysctlScript(c);
    case Kind::kLink:
      return "ln -sfn " + shellQuote(c.target) + " " + shellQuote(c.name);
    case Kind::kWaitPortReleased: {
      const std::string port = std::to_string(c.port);
      return "for i in $(seq 1 50); do ss -Hltn | grep -q " + shellQuote(":" + port + " ") +
             " || exit 0; sleep 0.1; done; echo 'port " + port + " is still in use' >&2; exit 1";
    }
    case Kind::kCheckHttps:
      return curlScript(c);
    case Kind::kHaproxyServerState:
      return haproxyScript(c);
    case Kind::kHttpRequest:
      return httpScript(c);
  }
  return "";
}

std::string describeCommand(const HostCommand& c) {
  using Kind = HostCommand::Kind;
  switch (c.kind) {
    case Kind::kLoadModule:
      return "modprobe " + commentText(c.name);
    case Kind::kSetSysctls: {
      std::string keys;
      for (const auto& [key, value] : c.values) keys += (keys.empty() ? "" : ", ") + key;
      return "set sysctls " + commentText(keys);
    }
    case Kind::kLink:
      return "ln -sfn " + commentText(c.target + " " + c.name);
    case Kind::kWaitPortReleased:
      return "wait for port " + std::to_string(c.port) + " to be released";
    case Kind::kCheckHttps:
      return "health check " + commentText(c.target);
    case Kind::kHttpRequest:
      return commentText((c.method.empty() ? "GET" : c.method) + " " + c.target);
    case Kind::kHaproxyServerState:
      return "haproxy: set server " + commentText(c.target + "/" + c.name + " state " + c.state);
    case Kind::kNone:
      return "nothing";
    case Kind::kDaemonReload:
      return "systemctl daemon-reload";
    case Kind::kEnableUnit:
      return "systemctl enable " + commentText(c.name);
    case Kind::kDisableUnitNow:
      return "systemctl disable --now " + commentText(c.name);
    case Kind::kStartUnit:
      return "systemctl start " + commentText(c.name);
    case Kind::kRestartUnit:
      return "systemctl restart " + commentText(c.name);
    case Kind::kReloadUnit:
      return "systemctl reload " + commentText(c.name);
    case Kind::kCheckUnitActive:
      return "systemctl is-active " + commentText(c.name);
  }
  return "";
}

std::string configCheckScript(ConfigCheck check) {
  switch (check) {
    case ConfigCheck::kHaproxy:
      return "haproxy -c -f \"$t\"";
    case ConfigCheck::kNginxStream:
      return "m=$(mktemp); printf 'include /etc/nginx/modules-enabled/*.conf;\\nevents "
             "{}\\ninclude "
             "%s;\\n' \"$t\" > \"$m\"; "
             "nginx -t -q -c \"$m\"; r=$?; rm -f \"$m\"; exit $r";
    case ConfigCheck::kNginxHttp:
      return "m=$(mktemp); printf 'events {}\\nhttp {\\ninclude %s;\\n}\\n' \"$t\" > \"$m\"; "
             "nginx -t -q -c \"$m\"; r=$?; rm -f \"$m\"; exit $r";
  }
  return "";
}

}  // namespace kthw::runtime
