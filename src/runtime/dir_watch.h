#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// Watches the desired-state paths with inotify: every directory under them (recursively,
// except .git), the parent of each file given, and a git directory's top level (HEAD, index and
// COMMIT_EDITMSG change on commit, checkout and pull). New directories are watched as they
// appear. Not thread-safe; one owner polls it.
class DirWatch {
 public:
  static StatusOr<DirWatch> open(const std::vector<std::string>& paths);
  DirWatch(DirWatch&& other) noexcept;
  DirWatch& operator=(DirWatch&&) = delete;
  DirWatch(const DirWatch&) = delete;
  ~DirWatch();

  // The descriptor to poll for readability.
  int fd() const { return fd_; }
  // Reads pending events; returns whether any concerns the desired state.
  bool drain();

 private:
  explicit DirWatch(int fd) : fd_(fd) {}
  void watchTree(const std::string& dir);
  void watchOne(const std::string& dir, bool recursive);

  int fd_ = -1;
  std::vector<std::pair<int, std::pair<std::string, bool>>> watches_;  // wd -> dir, recursive
};

// Tells systemd (Type=notify) about the service, when $NOTIFY_SOCKET is set: "READY=1",
// "STOPPING=1", "STATUS=...". Without it, does nothing.
void sdNotify(const std::string& state);

}  // namespace kthw::runtime
