#include "runtime/ssh_transport.h"

#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/base64.h"
#include "runtime/shell.h"
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

struct SshTransport::Session {
  int sock = -1;
  LIBSSH2_SESSION* session = nullptr;
  // The channel through a jump host this session runs over; closed after the session.
  std::unique_ptr<Tunnel> tunnel;

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

  // Handshake, host key check and user authentication on the connected `sock`, all within
  // `deadline`; `fingerprint` gets the server's key fingerprint.
  Status login(const SshOptions& o, Clock::time_point deadline, std::string& fingerprint,
               std::atomic<uint64_t>& roundTrips);
};

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

std::string endpoint(const SshOptions& o) {
  return o.user + "@" + o.host + ":" + std::to_string(o.port);
}

// The same status with its message behind `context`.
Status within(const std::string& context, const Status& s) {
  return Status(s.code(), context + s.message());
}

}  // namespace

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

namespace {

// Logins to one bastion at a time: sshd drops unauthenticated connections at random beyond
// MaxStartups (10 by default), which a pass over many hosts behind one bastion would exceed.
constexpr int kLoginsPerBastion = 8;

class LoginSlot {
 public:
  explicit LoginSlot(std::string bastion) : bastion_(std::move(bastion)) {}
  ~LoginSlot() { release(); }
  LoginSlot(const LoginSlot&) = delete;
  LoginSlot& operator=(const LoginSlot&) = delete;

  bool acquire(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu());
    if (!cv().wait_until(lock, deadline, [&] { return active()[bastion_] < kLoginsPerBastion; })) {
      return false;
    }
    ++active()[bastion_];
    held_ = true;
    return true;
  }

  void release() {
    if (!held_) return;
    {
      std::lock_guard<std::mutex> lock(mu());
      if (--active()[bastion_] == 0) active().erase(bastion_);
    }
    held_ = false;
    cv().notify_all();
  }

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::condition_variable& cv() {
    static std::condition_variable c;
    return c;
  }
  static std::map<std::string, int>& active() {
    static std::map<std::string, int> a;
    return a;
  }

  std::string bastion_;
  bool held_ = false;
};

}  // namespace

// A direct-tcpip channel through a jump host, and a thread that copies bytes between it and one
// end of a socket pair; the session to the target runs on the other end, unaware of the jump.
class SshTransport::Tunnel {
 public:
  // Logs in to `jump`, opens a channel to host:port and returns the tunnel with `inner`, the
  // socket for the target's session (non-blocking, owned by the caller).
  static StatusOr<std::unique_ptr<Tunnel>> open(const SshOptions& jump, const std::string& host,
                                                int port, Clock::time_point deadline, int& inner,
                                                std::atomic<uint64_t>& roundTrips) {
    auto t = std::unique_ptr<Tunnel>(new Tunnel(jump.keepaliveSeconds));
    LoginSlot slot(endpoint(jump));
    if (!slot.acquire(deadline)) {
      return deadlineExceeded("no login slot within the connect timeout (" +
                              std::to_string(kLoginsPerBastion) +
                              " logins at a time; the others are still logging in)");
    }
    auto sock = openSocket(jump, deadline);
    if (!sock.ok()) return sock.status();
    ++roundTrips;
    t->bastion_.sock = *sock;
    std::string fingerprint;
    if (Status st = t->bastion_.login(jump, deadline, fingerprint, roundTrips); !st.ok()) return st;
    slot.release();
    LIBSSH2_SESSION* s = t->bastion_.session;
    while ((t->channel_ = libssh2_channel_direct_tcpip_ex(s, host.c_str(), port, "127.0.0.1", 0)) ==
           nullptr) {
      if (libssh2_session_last_errno(s) != LIBSSH2_ERROR_EAGAIN) {
        return unavailable("it cannot reach " + host + ":" + std::to_string(port) + " (" +
                           lastError(s) + ")");
      }
      if (!t->bastion_.wait(deadline)) {
        return deadlineExceeded("opening a channel to " + host + ":" + std::to_string(port) +
                                " timed out");
      }
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
      return internalError(std::string("socketpair: ") + std::strerror(errno));
    }
    t->outer_ = pair[0];
    inner = pair[1];
    t->thread_ = std::thread([raw = t.get()] { raw->pump(); });
    return t;
  }

  // The session on the socket pair is closed by now: the pump delivers what it wrote last (its
  // disconnect message), sends EOF and ends by itself; a bastion that takes no more data is
  // given a second.
  ~Tunnel() {
    stopAt_ = (Clock::now() + std::chrono::seconds(1)).time_since_epoch().count();
    if (thread_.joinable()) thread_.join();
    if (channel_ != nullptr) libssh2_channel_free(channel_);
    if (outer_ >= 0) ::close(outer_);
  }

 private:
  explicit Tunnel(int keepaliveSeconds) : keepaliveSeconds_(keepaliveSeconds) {}

  // Until either side closes, or a second after the tunnel is destroyed. On the way out the
  // socket pair is shut down, so the session on it sees a lost connection and reconnects.
  //
  // A channel write that returned EAGAIN is repeated, with the same data, before any other
  // libssh2 call on the bastion's session: libssh2 may have sent part of its packet, and a read
  // (which can send a window adjustment) or a keep-alive in between would corrupt the stream.
  // While it is pending, incoming data waits in libssh2's channel window.
  void pump() {
    std::string up;    // from the target's session, for the channel
    std::string down;  // from the channel, for the target's session
    size_t upDone = 0;
    size_t downDone = 0;
    bool writePending = false;
    bool innerClosed = false;
    char buf[32768];
    LIBSSH2_SESSION* s = bastion_.session;
    while (Clock::now().time_since_epoch().count() < stopAt_.load()) {
      bool progressed = false;
      if (!writePending && upDone == up.size() && !innerClosed) {
        const ssize_t n = ::read(outer_, buf, sizeof buf);
        if (n > 0) {
          up.assign(buf, static_cast<size_t>(n));
          upDone = 0;
          progressed = true;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          innerClosed = true;  // the target's session is done with the connection
        }
      }
      while (upDone < up.size()) {
        const ssize_t n = libssh2_channel_write(channel_, up.data() + upDone, up.size() - upDone);
        writePending = n == LIBSSH2_ERROR_EAGAIN;
        if (writePending) break;
        if (n < 0) goto closed;
        upDone += static_cast<size_t>(n);
        progressed = true;
      }
      if (innerClosed && upDone == up.size()) {
        libssh2_channel_send_eof(channel_);  // once, best effort: the connection is over
        break;
      }
      if (!writePending && downDone == down.size()) {
        const ssize_t n = libssh2_channel_read(channel_, buf, sizeof buf);
        if (n > 0) {
          down.assign(buf, static_cast<size_t>(n));
          downDone = 0;
          progressed = true;
        } else if ((n < 0 && n != LIBSSH2_ERROR_EAGAIN) || libssh2_channel_eof(channel_) != 0) {
          break;  // the target or the bastion closed the connection
        }
      }
      while (downDone < down.size()) {
        const ssize_t n =
            ::send(outer_, down.data() + downDone, down.size() - downDone, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (n <= 0) goto closed;
        downDone += static_cast<size_t>(n);
        progressed = true;
      }
      if (!writePending && keepaliveSeconds_ > 0) {
        int next = 0;
        if (libssh2_keepalive_send(s, &next) != 0 &&
            libssh2_session_last_errno(s) != LIBSSH2_ERROR_EAGAIN) {
          break;
        }
      }
      if (!progressed) {
        // Only what can move: the bastion's socket is not watched for input while data for the
        // target's session waits, or poll would return at once and spin.
        const int dir = libssh2_session_block_directions(s);
        pollfd pfd[2] = {{outer_, 0, 0}, {bastion_.sock, 0, 0}};
        if (!writePending && upDone == up.size()) pfd[0].events |= POLLIN;
        if (downDone < down.size()) pfd[0].events |= POLLOUT;
        if (writePending || downDone == down.size()) pfd[1].events |= POLLIN;
        if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) pfd[1].events |= POLLOUT;
        ::poll(pfd, 2, 200);
      }
    }
  closed:
    ::shutdown(outer_, SHUT_RDWR);
  }

  Session bastion_;
  LIBSSH2_CHANNEL* channel_ = nullptr;
  int outer_ = -1;
  int keepaliveSeconds_;
  std::atomic<Clock::rep> stopAt_{Clock::time_point::max().time_since_epoch().count()};
  std::thread thread_;
};

SshTransport::SshTransport(SshOptions options) : options_(std::move(options)) { initLibssh2Once(); }

SshTransport::~SshTransport() = default;

std::string SshTransport::describe() const {
  std::string d = "ssh " + endpoint(options_);
  if (options_.jump) d += " via " + endpoint(*options_.jump);
  return d;
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

Status SshTransport::connectLocked() {
  session_.reset();
  const auto deadline = Clock::now() + options_.connectTimeout;
  auto s = std::make_unique<Session>();
  if (options_.jump) {
    auto tunnel =
        Tunnel::open(*options_.jump, options_.host, options_.port, deadline, s->sock, roundTrips_);
    if (!tunnel.ok()) {
      return within("jump host " + endpoint(*options_.jump) + ": ", tunnel.status());
    }
    s->tunnel = std::move(*tunnel);
  } else {
    auto sock = openSocket(options_, deadline);
    if (!sock.ok()) return sock.status();
    s->sock = *sock;
  }
  ++roundTrips_;  // TCP handshake, or the channel through the jump host
  if (Status st = s->login(options_, deadline, fingerprint_, roundTrips_); !st.ok()) {
    return options_.jump ? within("via jump host " + endpoint(*options_.jump) + ": ", st) : st;
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
