#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/host_transport.h"

namespace kthw::runtime {

enum class HostKeyCheck { kStrict, kAcceptNew };

struct SshOptions {
  std::string host;  // address to connect to
  int port = 22;
  std::string user = "root";
  std::string identityFile;   // private key; "~" expands to $HOME
  bool useAgent = false;      // try ssh-agent identities
  std::string pinnedHostKey;  // "ssh-ed25519 AAAA..." — wins over known_hosts when set
  std::string hostKeyField = "spec.ssh.hostKey";  // where the pinned key is set, for messages
  std::string knownHostsFile;                     // used when no key is pinned
  HostKeyCheck hostKeyCheck = HostKeyCheck::kStrict;
  bool sudo = false;
  std::chrono::seconds connectTimeout{10};
  int keepaliveSeconds = 15;
  // A bastion to reach `host` through, as OpenSSH's ProxyJump: kthw logs in to the bastion (its
  // own host key verified as above) and opens a direct-tcpip channel to host:port, over which
  // this session runs; both host keys are verified. The bastion's `sudo` and `jump` are unused.
  std::shared_ptr<const SshOptions> jump;
};

// HostTransport over SSH with libssh2: public-key auth (file or agent), host key verified before
// any credential or command is sent, one session reused across execs and re-established after a
// drop. Safe to call from several threads; execs on one host are serialized.
class SshTransport : public HostTransport {
 public:
  explicit SshTransport(SshOptions options);
  ~SshTransport() override;
  SshTransport(const SshTransport&) = delete;
  SshTransport& operator=(const SshTransport&) = delete;

  using HostTransport::exec;
  StatusOr<ExecResult> execWithInput(const std::string& script, ExecInput& input,
                                     std::chrono::seconds timeout) override;
  std::string describe() const override;
  std::string hostKeyFingerprint() const override;
  uint64_t roundTrips() const override { return roundTrips_; }

  // Connects now (exec connects lazily); for reporting reachability separately.
  Status connect();
  // Drops the connection; the next exec reconnects.
  void disconnect();

 private:
  struct Session;
  class Tunnel;

  Status connectLocked();
  StatusOr<ExecResult> execLocked(const std::string& command, ExecInput& input,
                                  std::chrono::seconds timeout, bool& connectionLost,
                                  bool& sessionBroken);

  SshOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<Session> session_;
  std::string fingerprint_;
  std::atomic<uint64_t> roundTrips_{0};
};

}  // namespace kthw::runtime
