#include "runtime/output_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/secret_store.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

bool isBeneath(const fs::path& p, const fs::path& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end() && q != p.end();
}

}  // namespace

StatusOr<fs::path> pathBeneath(const fs::path& root, const std::string& host,
                               const std::string& target) {
  const fs::path hostRoot = (root / host).lexically_normal();
  const fs::path path = (hostRoot / fs::path(target).relative_path()).lexically_normal();
  if (!fs::path(target).is_absolute() || !isBeneath(hostRoot, root) || !isBeneath(path, hostRoot) ||
      !path.has_filename()) {
    return invalidArgument(target + " on " + host + " would be written outside " +
                           hostRoot.string() + "; refused");
  }
  return path;
}

Status writeFileBeneath(const fs::path& root, const std::string& host, const std::string& target,
                        const std::string& content, unsigned mode) {
  auto path = pathBeneath(root, host, target);
  if (!path.ok()) return path.status();
  if (auto tree = enclosingGitWorkTree(path->parent_path().string())) {
    return failedPrecondition(path->string() + " is inside the git work tree " + *tree +
                              "; rendered keys must never be committed");
  }
  std::error_code ec;
  fs::create_directories(path->parent_path(), ec);
  const fs::path resolved = fs::weakly_canonical(path->parent_path(), ec);
  if (ec || !isBeneath(resolved, root)) {
    return invalidArgument(path->parent_path().string() + " leads outside " + root.string() +
                           "; refused");
  }
  const int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return permissionDenied("cannot write " + path->string());
  ::fchmod(fd, 0600);  // before any byte lands, whatever the file's mode was
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == content.size() && ::fchmod(fd, mode) == 0;
  ::close(fd);
  if (!ok) return permissionDenied("cannot write " + path->string());
  return okStatus();
}

}  // namespace kthw::runtime
