#include "runtime/ssh_transport.h"

#include <libssh2.h>

#include <mutex>

#include "runtime/shell.h"
#include "runtime/ssh_session.h"

namespace kthw::runtime {
namespace {

using ssh::Clock;
using ssh::endpoint;
using ssh::lastError;
using ssh::openSocket;
using ssh::within;

void initLibssh2Once() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

bool isConnectionError(int rc) {
  return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_CHANNEL_FAILURE ||
         rc == LIBSSH2_ERROR_BAD_SOCKET;
}

}  // namespace

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
      // Sent, or failed for good (the read below then sees the channel's end): asked once.
      if (rc != LIBSSH2_ERROR_EAGAIN) eofSent = true;
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
