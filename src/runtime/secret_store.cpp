#include "runtime/secret_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/atomic_file.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

std::string errnoText() { return std::strerror(errno); }

}  // namespace

std::optional<std::string> enclosingGitWorkTree(const std::string& path) {
  std::error_code ec;
  // Normalised and with symlinks resolved, so that "dir/../repo" or a link into a work tree is
  // seen for what it is.
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  while (!p.empty()) {
    if (fs::exists(p / ".git", ec)) return p.string();
    if (p == p.root_path()) break;
    p = p.parent_path();
  }
  return std::nullopt;
}

std::string defaultSecretStoreDir(const std::string& clusterName) {
  const char* state = std::getenv("XDG_STATE_HOME");
  std::string base;
  if (state != nullptr && *state != '\0') {
    base = state;
  } else {
    const char* home = std::getenv("HOME");
    base = std::string(home != nullptr ? home : "/root") + "/.local/state";
  }
  return base + "/kthw/" + clusterName;
}

StatusOr<std::unique_ptr<SecretStore>> SecretStore::open(const std::string& dir, Mode mode) {
  if (auto tree = enclosingGitWorkTree(dir)) {
    return failedPrecondition("refusing secret store " + dir + ": it is inside the git work tree " +
                              *tree +
                              ", and keys must never be committed; set "
                              "spec.secretStore to a directory outside it");
  }
  std::error_code ec;
  if (mode == Mode::kWrite) {
    fs::create_directories(dir, ec);
    if (ec) return permissionDenied("cannot create secret store " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (mode == Mode::kRead) {
      return notFound("secret store " + dir + " does not exist yet (apply creates it)");
    }
    return permissionDenied("secret store " + dir + ": " + errnoText());
  }
  if ((st.st_mode & 077) != 0) {
    return failedPrecondition("secret store " + dir + " is readable by others (mode " +
                              std::to_string(st.st_mode & 0777) + "); chmod 700 it");
  }
  const std::string lockPath = dir + "/.lock";
  const int fd = ::open(lockPath.c_str(),
                        (mode == Mode::kWrite ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0600);
  if (fd < 0 && mode == Mode::kRead && errno == ENOENT) {
    return std::unique_ptr<SecretStore>(new SecretStore(dir, -1, mode));
  }
  if (fd < 0) return permissionDenied("cannot open " + lockPath + ": " + errnoText());
  if (::flock(fd, (mode == Mode::kWrite ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    char holder[64] = {};
    const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    std::string who(holder, n > 0 ? static_cast<size_t>(n) : 0);
    if (!who.empty() && who.back() == '\n') who.pop_back();
    return Status(StatusCode::kAborted, "secret store " + dir +
                                            " is locked by another kthw process" +
                                            (who.empty() ? "" : " (" + who + ")") + "; try again");
  }
  if (mode == Mode::kWrite) {
    // Who holds it, for the message another process gets.
    const std::string who = "pid " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, who.data(), who.size(), 0);
  }
  return std::unique_ptr<SecretStore>(new SecretStore(dir, fd, mode));
}

SecretStore::~SecretStore() {
  if (lockFd_ >= 0) ::close(lockFd_);
}

std::optional<std::string> SecretStore::read(const std::string& name) const {
  std::ifstream in(dir_ + "/" + name, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status SecretStore::write(const std::string& name, const std::string& content) {
  if (mode_ != Mode::kWrite) return internalError("secret store opened read-only");
  if (name.find("..") != std::string::npos || name.starts_with("/")) {
    return invalidArgument("bad secret name " + name);
  }
  const fs::path path = fs::path(dir_) / name;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Every directory between the store and the file, not only the innermost: names of keys are
  // nobody else's business either, whatever the umask made of them.
  fs::path d = dir_;
  for (const fs::path& part : fs::path(name).parent_path()) {
    d /= part;
    ::chmod(d.c_str(), 0700);
  }
  return writeFileAtomically(path.string(), content, 0600);
}

}  // namespace kthw::runtime
