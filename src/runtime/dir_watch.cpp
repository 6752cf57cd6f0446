#include "runtime/dir_watch.h"

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace kthw::runtime {

namespace fs = std::filesystem;

namespace {
constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_DELETE_SELF | IN_MOVE_SELF;
}

StatusOr<DirWatch> DirWatch::open(const std::vector<std::string>& paths) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return unavailable(std::string("inotify_init1: ") + std::strerror(errno));
  DirWatch w(fd);
  for (const std::string& p : paths) {
    if (p == "-") continue;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      w.watchTree(p);
    } else {
      const fs::path parent = fs::path(p).parent_path();
      w.watchOne(parent.empty() ? "." : parent.string(), false);
    }
    // The enclosing git directory, if any.
    for (fs::path dir = fs::absolute(p, ec); !dir.empty(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / ".git", ec)) {
        w.watchOne((dir / ".git").string(), false);
        break;
      }
      if (dir == dir.parent_path()) break;
    }
  }
  return w;
}

DirWatch::DirWatch(DirWatch&& other) noexcept
    : fd_(other.fd_), watches_(std::move(other.watches_)) {
  other.fd_ = -1;
}

DirWatch::~DirWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void DirWatch::watchOne(const std::string& dir, bool recursive) {
  const int wd = ::inotify_add_watch(fd_, dir.c_str(), kEvents | IN_ONLYDIR);
  if (wd >= 0) watches_.push_back({wd, {dir, recursive}});
}

void DirWatch::watchTree(const std::string& dir) {
  watchOne(dir, true);
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       it != end; it.increment(ec)) {
    if (ec) break;
    if (!it->is_directory(ec)) continue;
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    watchOne(it->path().string(), true);
  }
}

bool DirWatch::drain() {
  bool relevant = false;
  alignas(inotify_event) char buffer[16384];
  while (true) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      std::string dir;
      bool recursive = false;
      for (const auto& [wd, info] : watches_) {
        if (wd == ev->wd) std::tie(dir, recursive) = info;
      }
      const std::string name = ev->len > 0 ? ev->name : "";
      // Editors' swap and backup files, and git's lock files, are not the desired state.
      if (name.ends_with(".swp") || name.ends_with("~") || name.ends_with(".lock") ||
          name.starts_with(".#")) {
        continue;
      }
      if (dir.ends_with("/.git") || dir == ".git") {
        if (name == "HEAD" || name == "index" || name == "COMMIT_EDITMSG" || name == "ORIG_HEAD")
          relevant = true;
        continue;
      }
      relevant = true;
      if ((ev->mask & IN_ISDIR) != 0 && (ev->mask & (IN_CREATE | IN_MOVED_TO)) != 0 && recursive &&
          name != ".git") {
        watchTree(dir + "/" + name);
      }
    }
  }
  return relevant;
}

void sdNotify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::min(std::strlen(path), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = 0;  // abstract namespace
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

}  // namespace kthw::runtime
