// Jump hosts: the tunnel through a bastion, and how many logins to one bastion run at once.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>

#include "runtime/ssh_session.h"

namespace kthw::runtime {
namespace {

using ssh::Clock;
using ssh::endpoint;
using ssh::lastError;
using ssh::openSocket;

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

StatusOr<std::unique_ptr<SshTransport::Tunnel>> SshTransport::Tunnel::open(
    const SshOptions& jump, const std::string& host, int port, Clock::time_point deadline,
    int& inner, std::atomic<uint64_t>& roundTrips) {
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

SshTransport::Tunnel::~Tunnel() {
  stopAt_ = (Clock::now() + std::chrono::seconds(1)).time_since_epoch().count();
  if (thread_.joinable()) thread_.join();
  if (channel_ != nullptr) libssh2_channel_free(channel_);
  if (outer_ >= 0) ::close(outer_);
}

void SshTransport::Tunnel::pump() {
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

}  // namespace kthw::runtime
