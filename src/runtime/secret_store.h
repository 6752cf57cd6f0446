#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace kthw::runtime {

// Where generated private keys, the CA keys and encryption keys live: a directory outside any
// git work tree, 0700, files 0600, written atomically. The store is locked for the life of the
// object (shared for readers, exclusive for writers), so two kthw processes cannot interleave
// writes.
class SecretStore {
 public:
  enum class Mode { kRead, kWrite };

  // Opens `dir` (created 0700 in kWrite mode). Refuses a directory inside a git work tree and
  // one that others can read.
  static StatusOr<std::unique_ptr<SecretStore>> open(const std::string& dir, Mode mode);
  ~SecretStore();
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;

  // `name` is a relative path such as "cluster-pki/ca.key".
  std::optional<std::string> read(const std::string& name) const;
  Status write(const std::string& name, const std::string& content);
  const std::string& dir() const { return dir_; }

 private:
  SecretStore(std::string dir, int lockFd, Mode mode)
      : dir_(std::move(dir)), lockFd_(lockFd), mode_(mode) {}

  std::string dir_;
  int lockFd_;
  Mode mode_;
};

// $XDG_STATE_HOME/kthw/<cluster>, or ~/.local/state/kthw/<cluster>.
std::string defaultSecretStoreDir(const std::string& clusterName);

// The top of the git work tree that contains `path` (or one of its parents), if any.
std::optional<std::string> enclosingGitWorkTree(const std::string& path);

}  // namespace kthw::runtime
