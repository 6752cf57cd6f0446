#include "runtime/ssh_host_key.h"

#include "runtime/base64.h"

namespace kthw::runtime {
namespace {

const char* keyTypeName(int type) {
  switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return "ssh-rsa";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return "ecdsa-sha2-nistp256";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return "ecdsa-sha2-nistp384";
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return "ecdsa-sha2-nistp521";
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return "ssh-ed25519";
    default:
      return "unknown";
  }
}

int knownHostKeyType(int type) {
  switch (type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
      return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

}  // namespace

Status verifyHostKey(LIBSSH2_SESSION* s, const SshOptions& o, const std::string& fingerprint) {
  size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(s, &len, &type);
  if (key == nullptr) return unavailable("the server sent no host key");
  const std::string offered = std::string(keyTypeName(type)) + " " + fingerprint;
  if (!o.pinnedHostKey.empty()) {
    const size_t space = o.pinnedHostKey.find(' ');
    const std::string pinnedType = o.pinnedHostKey.substr(0, space);
    std::string pinnedBlob = o.pinnedHostKey.substr(space + 1);
    pinnedBlob = pinnedBlob.substr(0, pinnedBlob.find(' '));
    if (pinnedType == keyTypeName(type) && base64Decode(pinnedBlob) == std::string(key, len)) {
      return okStatus();
    }
    return permissionDenied("host key mismatch for " + o.host + ": the server offers " + offered +
                            ", which is not the pinned spec.ssh.hostKey (" + pinnedType +
                            "); refusing to authenticate");
  }
  const std::string file =
      expandHome(o.knownHostsFile.empty() ? "~/.ssh/known_hosts" : o.knownHostsFile);
  LIBSSH2_KNOWNHOSTS* known = libssh2_knownhost_init(s);
  if (known == nullptr) return internalError("libssh2_knownhost_init failed");
  libssh2_knownhost_readfile(known, file.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  const int typeMask =
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownHostKeyType(type);
  libssh2_knownhost* found = nullptr;
  const int check =
      libssh2_knownhost_checkp(known, o.host.c_str(), o.port, key, len, typeMask, &found);
  Status result = okStatus();
  if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
    result = permissionDenied("host key for " + o.host + " changed: the server offers " + offered +
                              ", which differs from " + file + "; refusing to authenticate");
  } else if (check != LIBSSH2_KNOWNHOST_CHECK_MATCH) {
    if (o.hostKeyCheck == HostKeyCheck::kAcceptNew) {
      const std::string name = o.port == 22 ? o.host : "[" + o.host + "]:" + std::to_string(o.port);
      libssh2_knownhost_addc(known, name.c_str(), nullptr, key, len, "kthw", 4, typeMask, nullptr);
      if (libssh2_knownhost_writefile(known, file.c_str(), LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0) {
        result = permissionDenied("cannot record the host key of " + o.host + " in " + file);
      }
    } else {
      result = permissionDenied("unknown host key for " + o.host + " (" + offered +
                                "): pin it in spec.ssh.hostKey, add it to " + file +
                                ", or set hostKeyPolicy: AcceptNew");
    }
  }
  libssh2_knownhost_free(known);
  return result;
}

}  // namespace kthw::runtime
