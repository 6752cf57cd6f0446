#include "runtime/ssh_transport.h"

#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <vector>

#include "runtime/base64.h"
#include "runtime/ssh_host_key.h"

namespace kthw::runtime {
namespace {

using Clock = std::chrono::steady_clock;

void initLibssh2Once() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

std::string lastError(LIBSSH2_SESSION* s) {
  char* msg = nullptr;
  libssh2_session_last_error(s, &msg, nullptr, 0);
  return msg != nullptr ? msg : "unknown error";
}

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

bool isConnectionError(int rc) {
  return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_CHANNEL_FAILURE ||
         rc == LIBSSH2_ERROR_BAD_SOCKET;
}

}  // namespace

std::string shellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct SshTransport::Session {
  int sock = -1;
  LIBSSH2_SESSION* session = nullptr;

  ~Session() {
    if (session != nullptr) {
      libssh2_session_set_blocking(session, 0);
      libssh2_session_disconnect(session, "kthw closing");
      libssh2_session_free(session);
    }
    if (sock >= 0) ::close(sock);
  }

  // Waits until the socket is ready in the direction libssh2 is blocked on.
  bool wait(Clock::time_point deadline) const {
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
};

SshTransport::SshTransport(SshOptions options) : options_(std::move(options)) { initLibssh2Once(); }

SshTransport::~SshTransport() = default;

std::string SshTransport::describe() const {
  return "ssh " + options_.user + "@" + options_.host + ":" + std::to_string(options_.port);
}

std::string SshTransport::hostKeyFingerprint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fingerprint_;
}

Status SshTransport::connect() {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_) return okStatus();
  return connectLocked();
}

void SshTransport::disconnect() {
  std::lock_guard<std::mutex> lock(mu_);
  session_.reset();
}

namespace {

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

}  // namespace

Status SshTransport::connectLocked() {
  session_.reset();
  const auto deadline = Clock::now() + options_.connectTimeout;
  auto sock = openSocket(options_, deadline);
  if (!sock.ok()) return sock.status();
  ++roundTrips_;  // TCP handshake
  auto s = std::make_unique<Session>();
  s->sock = *sock;
  s->session = libssh2_session_init();
  if (s->session == nullptr) return internalError("libssh2_session_init failed");
  libssh2_session_set_blocking(s->session, 0);
  int rc = 0;
  while ((rc = libssh2_session_handshake(s->session, s->sock)) == LIBSSH2_ERROR_EAGAIN) {
    if (!s->wait(deadline))
      return deadlineExceeded("SSH handshake with " + options_.host + " timed out");
  }
  if (rc != 0) {
    return unavailable("SSH handshake with " + options_.host + " failed: " + lastError(s->session));
  }
  ++roundTrips_;
  const char* hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
  std::string fp = hash == nullptr ? "" : base64Encode(std::string_view(hash, 32));
  while (!fp.empty() && fp.back() == '=') fp.pop_back();
  fingerprint_ = "SHA256:" + fp;
  if (Status st = verifyHostKey(s->session, options_, fingerprint_); !st.ok()) return st;

  bool authenticated = false;
  std::string problem;
  if (!options_.identityFile.empty()) {
    const std::string key = expandHome(options_.identityFile);
    while ((rc = libssh2_userauth_publickey_fromfile(s->session, options_.user.c_str(), nullptr,
                                                     key.c_str(), nullptr)) ==
           LIBSSH2_ERROR_EAGAIN) {
      if (!s->wait(deadline)) return deadlineExceeded("SSH authentication timed out");
    }
    authenticated = rc == 0;
    if (!authenticated) {
      problem = "key " + key + ": " + lastError(s->session);
      if (isRsaKey(key)) {
        problem +=
            "; note: RSA keys sign with ssh-rsa (SHA-1) here, which OpenSSH 8.8 and later refuse "
            "unless PubkeyAcceptedAlgorithms allows ssh-rsa; an ed25519 or ECDSA key avoids this";
      }
    }
  }
  if (!authenticated && options_.useAgent) {
    // The agent API blocks; libssh2's session timeout keeps a server that stops answering
    // within the connect deadline.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    libssh2_session_set_timeout(s->session, std::max<long>(1, left));
    libssh2_session_set_blocking(s->session, 1);
    LIBSSH2_AGENT* agent = libssh2_agent_init(s->session);
    if (agent != nullptr && libssh2_agent_connect(agent) == 0 &&
        libssh2_agent_list_identities(agent) == 0) {
      libssh2_agent_publickey* identity = nullptr;
      libssh2_agent_publickey* previous = nullptr;
      while (!authenticated && libssh2_agent_get_identity(agent, &identity, previous) == 0) {
        authenticated = libssh2_agent_userauth(agent, options_.user.c_str(), identity) == 0;
        previous = identity;
      }
      libssh2_agent_disconnect(agent);
    } else {
      problem += (problem.empty() ? "" : "; ") + std::string("no ssh-agent reachable");
    }
    if (agent != nullptr) libssh2_agent_free(agent);
    libssh2_session_set_blocking(s->session, 0);
    libssh2_session_set_timeout(s->session, 0);
    if (!authenticated && Clock::now() >= deadline) {
      return deadlineExceeded("SSH authentication with " + options_.host + " timed out");
    }
  }
  if (!authenticated) {
    return permissionDenied("SSH authentication as " + options_.user + "@" + options_.host +
                            " failed (" + problem + ")");
  }
  ++roundTrips_;
  if (options_.keepaliveSeconds > 0) {
    libssh2_keepalive_config(s->session, 1, static_cast<unsigned>(options_.keepaliveSeconds));
  }
  session_ = std::move(s);
  return okStatus();
}

StatusOr<ExecResult> SshTransport::execWithInput(const std::string& script, ExecInput& input,
                                                 std::chrono::seconds timeout) {
  std::string command = "/bin/sh -c " + shellQuote(script);
  if (options_.sudo) command = "sudo -n " + command;
  std::lock_guard<std::mutex> lock(mu_);
  // A session that died while idle is noticed when a channel cannot be opened; the command has
  // not been sent then, so one retry on a fresh connection is safe.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!session_) {
      if (Status st = connectLocked(); !st.ok()) return st;
    }
    bool connectionLost = false;
    bool sessionBroken = false;
    auto result = execLocked(command, input, timeout, connectionLost, sessionBroken);
    if (sessionBroken || connectionLost) session_.reset();
    if (result.ok() || !connectionLost) return result;
  }
  return unavailable("lost the SSH connection to " + options_.host + " twice");
}

StatusOr<ExecResult> SshTransport::execLocked(const std::string& command, ExecInput& input,
                                              std::chrono::seconds timeout, bool& connectionLost,
                                              bool& sessionBroken) {
  Session& s = *session_;
  const auto deadline = Clock::now() + timeout;
  auto timedOut = [&](const char* phase) {
    sessionBroken = true;  // the channel state is unknown; start afresh next time
    return deadlineExceeded(std::string("command on ") + options_.host + " timed out after " +
                            std::to_string(timeout.count()) + "s (" + phase + ")");
  };
  LIBSSH2_CHANNEL* channel = nullptr;
  // A window larger than the default 2 MiB keeps large reads from stalling on window updates.
  constexpr unsigned kWindow = 16u << 20;
  while ((channel = libssh2_channel_open_ex(s.session, "session", 7, kWindow,
                                            LIBSSH2_CHANNEL_PACKET_DEFAULT, nullptr, 0)) ==
         nullptr) {
    const int rc = libssh2_session_last_errno(s.session);
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      connectionLost = true;
      return unavailable("cannot open an SSH channel to " + options_.host + ": " +
                         lastError(s.session));
    }
    if (!s.wait(deadline)) return timedOut("opening channel");
  }
  ++roundTrips_;
  struct ChannelGuard {
    LIBSSH2_CHANNEL* c;
    ~ChannelGuard() { libssh2_channel_free(c); }
  } guard{channel};
  int rc = 0;
  while ((rc = libssh2_channel_exec(channel, command.c_str())) == LIBSSH2_ERROR_EAGAIN) {
    if (!s.wait(deadline)) return timedOut("starting command");
  }
  if (rc != 0) {
    connectionLost = isConnectionError(rc);
    return unavailable("cannot start a command on " + options_.host + ": " + lastError(s.session));
  }
  ExecResult result;
  bool inputDone = false;
  bool eofSent = false;
  char buf[32768];
  while (true) {
    bool progressed = false;
    auto chunk = inputDone ? StatusOr<std::string_view>(std::string_view()) : input.pending();
    if (!chunk.ok()) {
      sessionBroken = true;  // the command has part of its input; start afresh next time
      return chunk.status();
    }
    if (!chunk->empty()) {
      const ssize_t n =
          libssh2_channel_write(channel, chunk->data(), std::min<size_t>(chunk->size(), 32768));
      if (n > 0) {
        input.consume(static_cast<size_t>(n));
        progressed = true;
      } else if (n != LIBSSH2_ERROR_EAGAIN) {
        sessionBroken = true;
        return unavailable("writing to " + options_.host + " failed: " + lastError(s.session));
      }
    } else if (!eofSent) {
      inputDone = true;
      rc = libssh2_channel_send_eof(channel);
      if (rc == 0)
        eofSent = true;
      else if (rc != LIBSSH2_ERROR_EAGAIN)
        eofSent = true;
    }
    for (int stream = 0; stream < 2; ++stream) {
      const ssize_t n = libssh2_channel_read_ex(channel, stream, buf, sizeof buf);
      if (n > 0) {
        (stream == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
        progressed = true;
      } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
        sessionBroken = true;
        return unavailable("reading from " + options_.host + " failed: " + lastError(s.session));
      }
    }
    if (libssh2_channel_eof(channel) != 0 && eofSent) break;
    if (!progressed && !s.wait(deadline)) return timedOut("running");
  }
  while ((rc = libssh2_channel_close(channel)) == LIBSSH2_ERROR_EAGAIN) {
    if (!s.wait(deadline)) return timedOut("closing");
  }
  while ((rc = libssh2_channel_wait_closed(channel)) == LIBSSH2_ERROR_EAGAIN) {
    if (!s.wait(deadline)) return timedOut("closing");
  }
  char* signal = nullptr;
  libssh2_channel_get_exit_signal(channel, &signal, nullptr, nullptr, nullptr, nullptr, nullptr);
  result.exitStatus = libssh2_channel_get_exit_status(channel);
  if (signal != nullptr) {
    result.err += "killed by signal " + std::string(signal);
    result.exitStatus = 128;
    libssh2_free(s.session, signal);
  }
  return result;
}

}  // namespace kthw::runtime
