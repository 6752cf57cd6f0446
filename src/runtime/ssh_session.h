#pragma once

// SshTransport's session and jump-host tunnel, and the helpers they share; private to
// ssh_transport.cpp (connecting, exec), ssh_session.cpp (socket, login) and ssh_tunnel.cpp.

#include <libssh2.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace ssh {

using Clock = std::chrono::steady_clock;

std::string lastError(LIBSSH2_SESSION* s);
// A connected, non-blocking TCP socket to o.host:o.port, within `deadline`.
StatusOr<int> openSocket(const SshOptions& o, Clock::time_point deadline);
// "user@host:port".
std::string endpoint(const SshOptions& o);
// The same status with its message behind `context`.
Status within(const std::string& context, const Status& s);

}  // namespace ssh

struct SshTransport::Session {
  int sock = -1;
  LIBSSH2_SESSION* session = nullptr;
  // The channel through a jump host this session runs over; closed after the session.
  std::unique_ptr<Tunnel> tunnel;

  ~Session();

  // Waits until the socket is ready in the direction libssh2 is blocked on.
  bool wait(ssh::Clock::time_point deadline) const;

  // Handshake, host key check and user authentication on the connected `sock`, all within
  // `deadline`; `fingerprint` gets the server's key fingerprint.
  Status login(const SshOptions& o, ssh::Clock::time_point deadline, std::string& fingerprint,
               std::atomic<uint64_t>& roundTrips);
};

// A direct-tcpip channel through a jump host, and a thread that copies bytes between it and one
// end of a socket pair; the session to the target runs on the other end, unaware of the jump.
class SshTransport::Tunnel {
 public:
  // Logs in to `jump`, opens a channel to host:port and returns the tunnel with `inner`, the
  // socket for the target's session (non-blocking, owned by the caller).
  static StatusOr<std::unique_ptr<Tunnel>> open(const SshOptions& jump, const std::string& host,
                                                int port, ssh::Clock::time_point deadline,
                                                int& inner, std::atomic<uint64_t>& roundTrips);

  // The session on the socket pair is closed by now: the pump delivers what it wrote last (its
  // disconnect message), sends EOF and ends by itself; a bastion that takes no more data is
  // given a second.
  ~Tunnel();

 private:
  explicit Tunnel(int keepaliveSeconds) : keepaliveSeconds_(keepaliveSeconds) {}

  // Until either side closes, or a second after the tunnel is destroyed. On the way out the
  // socket pair is shut down, so the session on it sees a lost connection and reconnects.
  //
  // A channel write that returned EAGAIN is repeated, with the same data, before any other
  // libssh2 call on the bastion's session: libssh2 may have sent part of its packet, and a read
  // (which can send a window adjustment) or a keep-alive in between would corrupt the stream.
  // While it is pending, incoming data waits in libssh2's channel window.
  void pump();

  Session bastion_;
  LIBSSH2_CHANNEL* channel_ = nullptr;
  int outer_ = -1;
  int keepaliveSeconds_;
  std::atomic<ssh::Clock::rep> stopAt_{ssh::Clock::time_point::max().time_since_epoch().count()};
  std::thread thread_;
};

}  // namespace kthw::runtime
