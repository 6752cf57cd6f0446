#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

std::string errnoText() { return std::strerror(errno); }

// Beside the target, named by pid and a counter so that writers in this process and others do
// not meet; O_EXCL settles the rest (a name left by a crashed process of the same pid is skipped).
struct Temporary {
  int fd = -1;
  std::string path;
};

Temporary createTemporary(const std::string& path, unsigned mode) {
  static std::atomic<unsigned> counter{0};
  Temporary t;
  for (int attempt = 0; attempt < 100; ++attempt) {
    t.path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    t.fd = ::open(t.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (t.fd >= 0 || errno != EEXIST) break;
  }
  return t;
}

Status writeAll(int fd, const std::string& content) {
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return internalError(errnoText());
    done += static_cast<size_t>(n);
  }
  return okStatus();
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& content, unsigned mode) {
  const auto [fd, tmp] = createTemporary(path, mode);
  if (fd < 0) return permissionDenied("cannot write " + tmp + ": " + errnoText());
  // The umask only narrows what open gave; the mode asked for is the mode the file gets.
  Status written = ::fchmod(fd, mode) == 0 ? writeAll(fd, content)
                                           : permissionDenied("chmod " + tmp + ": " + errnoText());
  if (written.ok() && ::fsync(fd) != 0) written = internalError(errnoText());
  ::close(fd);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return Status(written.code(), "writing " + tmp + ": " + written.message());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errnoText();
    ::unlink(tmp.c_str());
    return internalError("storing " + path + ": " + reason);
  }
  std::string parent = fs::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  const int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return okStatus();
}

StatusOr<std::string> readLocalFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return notFound(path + " does not exist");
    return permissionDenied(path + ": " + errnoText());
  }
  if (!S_ISREG(st.st_mode)) return invalidArgument(path + " is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return permissionDenied("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kthw::runtime
