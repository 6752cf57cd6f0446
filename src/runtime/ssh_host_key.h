#pragma once

#include <libssh2.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/ssh_transport.h"

// Host key checking for SshTransport, apart from the session code in ssh_session.cpp.
namespace kthw::runtime {

// "~/x" under $HOME.
inline std::string expandHome(const std::string& path) {
  if (!path.starts_with("~/")) return path;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + path.substr(1);
}

// "SHA256:" and the unpadded base64 of the key blob's SHA-256, as `ssh-keygen -l` prints it.
std::string sshFingerprint(std::string_view keyBlob);

// Verifies the server's key against the pinned key or known_hosts (recording it there under
// AcceptNew); nothing else has been sent to the server at this point.
Status verifyHostKey(LIBSSH2_SESSION* s, const SshOptions& o, const std::string& fingerprint);

}  // namespace kthw::runtime
