#include "runtime/local_transport.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace kthw::runtime {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void closeEnd(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

}  // namespace

StatusOr<ExecResult> runProcess(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout) {
  ExecInput in = ExecInput::memory(input);
  return runProcess(argv, in, timeout);
}

StatusOr<ExecResult> runProcess(const std::vector<std::string>& argv, ExecInput& input,
                                std::chrono::milliseconds timeout) {
  Pipe in, out, err;
  if (::pipe2(in.fd, O_CLOEXEC) != 0 || ::pipe2(out.fd, O_CLOEXEC) != 0 ||
      ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return internalError(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return unavailable("cannot run " + argv[0] + ": " + std::strerror(rc));
  in.closeEnd(0);
  out.closeEnd(1);
  err.closeEnd(1);
  ::fcntl(in.fd[1], F_SETFL, O_NONBLOCK);

  ExecResult result;
  if (input.empty()) in.closeEnd(1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timedOut = false;
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd fds[3] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {in.fd[1], POLLOUT, 0}};
    if (::poll(fds, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if (in.fd[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      auto chunk = input.pending();
      const ssize_t n =
          chunk.ok() && !chunk->empty() ? ::write(in.fd[1], chunk->data(), chunk->size()) : 0;
      if (n > 0) input.consume(static_cast<size_t>(n));
      // The end of the input, a read error or a reader that went away all close stdin.
      if (!chunk.ok() || chunk->empty() || (n < 0 && errno != EAGAIN)) in.closeEnd(1);
    }
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      Pipe& p = i == 0 ? out : err;
      if (p.fd[0] < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(p.fd[0], buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        p.closeEnd(0);
      }
    }
  }
  in.closeEnd(1);
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    return deadlineExceeded(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                            " ms");
  }
  result.exitStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

StatusOr<ExecResult> LocalTransport::execWithInput(const std::string& script, ExecInput& input,
                                                   std::chrono::seconds timeout) {
  ++execs_;
  std::vector<std::string> argv;
  if (sudo_) argv = {"sudo", "-n", "--"};
  argv.insert(argv.end(), {"/bin/sh", "-c", script});
  return runProcess(argv, input, timeout);
}

}  // namespace kthw::runtime
