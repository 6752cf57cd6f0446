#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resources/types.h"

namespace kthw::resources {

enum class HostKeyPolicy { kStrict, kAcceptNew };
enum class TransportKind { kSsh, kLocal };

struct Host;

// spec.ssh.proxyJump: a bastion the host is reached through.
struct ProxyJump {
  std::string host;     // a Host document to jump through
  std::string address;  // or "[user@]host[:port]" of a bastion that is not one
  std::string hostKey;  // the pinned key of `address`
  FieldMarks marks;
  // How to reach the bastion, set when the desired state is built: the Host named by `host`, or
  // one made of `address` with this host's credentials.
  std::shared_ptr<const Host> via;

  bool operator==(const ProxyJump&) const = default;
};

struct SshSettings {
  std::string user;
  int port = 0;
  std::string identityFile;
  bool useAgent = false;
  std::string hostKey;  // pinned, "type base64"
  std::string knownHostsFile;
  HostKeyPolicy hostKeyPolicy = HostKeyPolicy::kStrict;
  bool sudo = false;
  int connectTimeoutSeconds = 0;
  int commandTimeoutSeconds = 0;
  int keepaliveSeconds = 0;
  std::optional<ProxyJump> proxyJump;

  bool operator==(const SshSettings&) const = default;
};

struct EtcHostsEntry {
  std::string ip;
  std::vector<std::string> names;
  FieldMarks marks;

  bool operator==(const EtcHostsEntry&) const = default;
};

struct ManagedDirectory {
  std::string path;
  FileAttributes attributes;

  bool operator==(const ManagedDirectory&) const = default;
};

struct Host {
  ObjectMeta metadata;
  std::string address;
  std::string internalIP;  // defaults to address
  std::string hostname;
  TransportKind transport = TransportKind::kSsh;
  SshSettings ssh;
  std::vector<EtcHostsEntry> etcHosts;
  std::vector<ManagedDirectory> directories;
  std::map<std::string, std::string> sysctls;
  std::vector<std::string> kernelModules;
  FieldMarks marks;        // of spec
  FieldMarks sysctlMarks;  // of spec.sysctls, by key

  const std::string& name() const { return metadata.name; }

  bool operator==(const Host&) const = default;
};

}  // namespace kthw::resources
