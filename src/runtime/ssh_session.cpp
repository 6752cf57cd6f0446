// SshTransport's sessions: the TCP connection, then handshake, host key check and login.
#include "runtime/ssh_session.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "runtime/base64.h"
#include "runtime/ssh_host_key.h"

namespace kthw::runtime {
namespace ssh {

std::string lastError(LIBSSH2_SESSION* s) {
  char* msg = nullptr;
  libssh2_session_last_error(s, &msg, nullptr, 0);
  return msg != nullptr ? msg : "unknown error";
}

StatusOr<int> openSocket(const SshOptions& o, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o.port);
  if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return unavailable("cannot resolve " + o.host + ": " + gai_strerror(rc));
  }
  std::string lastProblem = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      rc = ::poll(&pfd, 1, static_cast<int>(std::max<long>(0, left.count())));
      if (rc == 0) {
        ::close(fd);
        ::freeaddrinfo(res);
        return deadlineExceeded("connecting to " + o.host + ":" + port + " timed out after " +
                                std::to_string(o.connectTimeout.count()) + "s");
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    lastProblem = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return unavailable("cannot connect to " + o.host + ":" + port + ": " + lastProblem);
}

std::string endpoint(const SshOptions& o) {
  return o.user + "@" + o.host + ":" + std::to_string(o.port);
}

// The same status with its message behind `context`.
Status within(const std::string& context, const Status& s) {
  return Status(s.code(), context + s.message());
}

}  // namespace ssh

namespace {

using ssh::Clock;
using ssh::lastError;

// Whether a private key file holds an RSA key (PEM header, or the .pub beside it).
bool isRsaKey(const std::string& path) {
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  if (first.find("RSA PRIVATE KEY") != std::string::npos) return true;
  std::ifstream pub(path + ".pub");
  std::string type;
  pub >> type;
  return type == "ssh-rsa";
}

}  // namespace

SshTransport::Session::~Session() {
  if (session != nullptr) {
    libssh2_session_set_blocking(session, 0);
    libssh2_session_disconnect(session, "kthw closing");
    libssh2_session_free(session);
  }
  if (sock >= 0) ::close(sock);
}

bool SshTransport::Session::wait(Clock::time_point deadline) const {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  const int dir = libssh2_session_block_directions(session);
  pollfd pfd{sock, 0, 0};
  if ((dir & LIBSSH2_SESSION_BLOCK_INBOUND) != 0) pfd.events |= POLLIN;
  if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) pfd.events |= POLLOUT;
  if (pfd.events == 0) pfd.events = POLLIN;
  const int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left, 1000)));
  return rc >= 0 || errno == EINTR;
}

Status SshTransport::Session::login(const SshOptions& o, Clock::time_point deadline,
                                    std::string& fingerprint, std::atomic<uint64_t>& roundTrips) {
  session = libssh2_session_init();
  if (session == nullptr) return internalError("libssh2_session_init failed");
  libssh2_session_set_blocking(session, 0);
  int rc = 0;
  while ((rc = libssh2_session_handshake(session, sock)) == LIBSSH2_ERROR_EAGAIN) {
    if (!wait(deadline)) return deadlineExceeded("SSH handshake with " + o.host + " timed out");
  }
  if (rc != 0) {
    return unavailable("SSH handshake with " + o.host + " failed: " + lastError(session));
  }
  ++roundTrips;
  const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
  std::string fp = hash == nullptr ? "" : base64Encode(std::string_view(hash, 32));
  while (!fp.empty() && fp.back() == '=') fp.pop_back();
  fingerprint = "SHA256:" + fp;
  if (Status st = verifyHostKey(session, o, fingerprint); !st.ok()) return st;

  bool authenticated = false;
  std::string problem;
  if (!o.identityFile.empty()) {
    const std::string key = expandHome(o.identityFile);
    while ((rc = libssh2_userauth_publickey_fromfile(session, o.user.c_str(), nullptr, key.c_str(),
                                                     nullptr)) == LIBSSH2_ERROR_EAGAIN) {
      if (!wait(deadline)) return deadlineExceeded("SSH authentication timed out");
    }
    authenticated = rc == 0;
    if (!authenticated) {
      problem = "key " + key + ": " + lastError(session);
      if (isRsaKey(key)) {
        problem +=
            "; note: RSA keys sign with ssh-rsa (SHA-1) here, which OpenSSH 8.8 and later refuse "
            "unless PubkeyAcceptedAlgorithms allows ssh-rsa; an ed25519 or ECDSA key avoids this";
      }
    }
  }
  if (!authenticated && o.useAgent) {
    // The agent API blocks; libssh2's session timeout keeps a server that stops answering
    // within the connect deadline.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    libssh2_session_set_timeout(session, std::max<long>(1, left));
    libssh2_session_set_blocking(session, 1);
    LIBSSH2_AGENT* agent = libssh2_agent_init(session);
    if (agent != nullptr && libssh2_agent_connect(agent) == 0 &&
        libssh2_agent_list_identities(agent) == 0) {
      libssh2_agent_publickey* identity = nullptr;
      libssh2_agent_publickey* previous = nullptr;
      while (!authenticated && libssh2_agent_get_identity(agent, &identity, previous) == 0) {
        authenticated = libssh2_agent_userauth(agent, o.user.c_str(), identity) == 0;
        previous = identity;
      }
      libssh2_agent_disconnect(agent);
    } else {
      problem += (problem.empty() ? "" : "; ") + std::string("no ssh-agent reachable");
    }
    if (agent != nullptr) libssh2_agent_free(agent);
    libssh2_session_set_blocking(session, 0);
    libssh2_session_set_timeout(session, 0);
    if (!authenticated && Clock::now() >= deadline) {
      return deadlineExceeded("SSH authentication with " + o.host + " timed out");
    }
  }
  if (!authenticated) {
    return permissionDenied("SSH authentication as " + o.user + "@" + o.host + " failed (" +
                            problem + ")");
  }
  ++roundTrips;
  if (o.keepaliveSeconds > 0) {
    libssh2_keepalive_config(session, 1, static_cast<unsigned>(o.keepaliveSeconds));
  }
  return okStatus();
}

}  // namespace kthw::runtime
