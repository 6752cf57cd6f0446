#include "runtime/ssh_host_key.h"

#include <openssl/evp.h>

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

// The fingerprint of a key written as OpenSSH writes it ("TYPE BASE64 [comment]"), or a note
// that the text holds no key.
std::string fingerprintOfKeyText(const std::string& text) {
  std::string blob = text.substr(text.find(' ') == std::string::npos ? 0 : text.find(' ') + 1);
  blob = base64Decode(blob.substr(0, blob.find(' ')));
  return blob.empty() ? "(not a key: its base64 does not decode)" : sshFingerprint(blob);
}

}  // namespace

std::string sshFingerprint(std::string_view keyBlob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(keyBlob.data(), keyBlob.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return "SHA256:?";
  }
  std::string b64 = base64Encode(std::string_view(reinterpret_cast<const char*>(digest), size));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

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
                            ", but " + o.hostKeyField + " pins " + pinnedType + " " +
                            fingerprintOfKeyText(o.pinnedHostKey) + "; refusing to authenticate");
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
    std::string recorded = "the key recorded there";
    if (found != nullptr && found->key != nullptr) {
      recorded = "the " + std::string(keyTypeName(type)) + " " +
                 sshFingerprint(base64Decode(found->key)) + " recorded there";
    }
    result = permissionDenied("host key for " + o.host + " changed: the server offers " + offered +
                              ", which differs from " + recorded + " (" + file +
                              "); refusing to authenticate");
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
