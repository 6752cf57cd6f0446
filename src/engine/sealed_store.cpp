#include "engine/sealed_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "runtime/age.h"
#include "runtime/atomic_file.h"
#include "runtime/digest.h"
#include "runtime/secret_store.h"

namespace kthw::engine {
namespace {

namespace fs = std::filesystem;

std::string who(const resources::CertificateBundle& bundle) {
  return "CertificateBundle/" + bundle.name();
}

std::string octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 0777);
  return text;
}

// The digest of an archive's canonical plaintext (files sorted by path, as sealStore writes it),
// so that a sealed file and a store with the same files compare equal.
std::string archiveDigest(runtime::StoreArchive archive) {
  std::sort(
      archive.files.begin(), archive.files.end(),
      [](const runtime::StoreFile& a, const runtime::StoreFile& b) { return a.path < b.path; });
  return runtime::sha256Hex(runtime::encodeStoreArchive(archive));
}

std::string digestFilePath(const std::string& storeDir) {
  return storeDir + "/" + std::string(kSealedDigestFile);
}

// What was last sealed or loaded; empty when the store was never synchronised.
std::string recordedDigest(const std::string& storeDir) {
  auto text = runtime::readLocalFile(digestFilePath(storeDir));
  if (!text.ok()) return "";
  return text->substr(0, text->find('\n'));
}

Status recordDigest(const std::string& storeDir, const std::string& digest) {
  return runtime::writeFileAtomically(digestFilePath(storeDir), digest + "\n", 0600);
}

// The identity's secret keys, from a file only its owner can get at and that no commit can
// carry: it opens every key of the cluster.
StatusOr<runtime::AgeIdentities> readIdentity(const resources::CertificateBundle& bundle) {
  const std::string path = sealedIdentityPath(*bundle.sealedStore);
  const std::string field = who(bundle) + ": spec.sealedStore.identityFile " + path;
  if (auto tree = runtime::enclosingGitWorkTree(path)) {
    return failedPrecondition(field + " is inside the git work tree " + *tree +
                              "; the identity opens every key of the cluster and must never be "
                              "committed: move it outside (e.g. to ~/.config/kthw/)");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const bool missing = errno == ENOENT;
    const std::string why = std::strerror(errno);
    return missing ? notFound(field + " does not exist; age-keygen -o " + path + " makes one")
                   : permissionDenied(field + ": " + why);
  }
  if ((st.st_mode & 077) != 0) {
    return failedPrecondition(field + " has mode " + octal(st.st_mode) +
                              ": group or others can get at it; chmod 600 " + path);
  }
  auto text = runtime::readLocalFile(path);
  if (!text.ok()) return Status(text.status().code(), field + ": " + text.status().message());
  auto keys = runtime::parseAgeIdentityFile(*text);
  if (!keys.ok()) return invalidArgument(field + ": " + keys.status().message());
  runtime::AgeIdentities ids;
  ids.x25519 = std::move(*keys);
  return ids;
}

// The sealed file decrypted, parsed and checked against the bundle; every way it can be wrong is
// FailedPrecondition, since nothing in the desired state would fix it.
StatusOr<runtime::StoreArchive> openSealed(const resources::CertificateBundle& bundle,
                                           const std::string& sealedPath, const std::string& file) {
  auto ids = readIdentity(bundle);
  if (!ids.ok()) return ids.status();
  auto plain = runtime::ageDecrypt(file, *ids);
  if (!plain.ok() && plain.status().code() == StatusCode::kPermissionDenied) {
    return failedPrecondition(who(bundle) + ": no identity in " +
                              sealedIdentityPath(*bundle.sealedStore) + " opens " + sealedPath +
                              " (spec.sealedStore); it was sealed for other age recipients");
  }
  if (!plain.ok() && plain.status().code() == StatusCode::kInvalidArgument) {
    return failedPrecondition(who(bundle) + ": " + sealedPath +
                              " (spec.sealedStore.file): " + plain.status().message() +
                              "; it is tampered with or truncated: take it again from git");
  }
  if (!plain.ok()) {
    return Status(plain.status().code(),
                  who(bundle) + ": " + sealedPath + ": " + plain.status().message());
  }
  auto archive = runtime::decodeStoreArchive(*plain);
  if (!archive.ok()) {
    return failedPrecondition(who(bundle) + ": " + sealedPath +
                              " (spec.sealedStore.file): " + archive.status().message());
  }
  if (archive->clusterName != bundle.clusterName) {
    return failedPrecondition(who(bundle) + ": " + sealedPath +
                              " holds the secret store of cluster " + archive->clusterName +
                              ", this bundle's clusterName is " + bundle.clusterName);
  }
  std::erase_if(archive->files,
                [](const runtime::StoreFile& f) { return f.path == kSealedDigestFile; });
  return archive;
}

Status diverged(const resources::CertificateBundle& bundle, const std::string& storeDir,
                const std::string& sealedPath) {
  return failedPrecondition(
      who(bundle) + ": the secret store " + storeDir + " and the sealed store " + sealedPath +
      " diverged: each holds material the other lacks (two machines issued or rotated it "
      "independently). Keep one side: to take the sealed file's, remove " +
      storeDir + " (kthw backup it first if in doubt) and run again; to take this machine's, " +
      "kthw restore --force a backup of it (that seals it), or remove " + sealedPath +
      " and run kthw apply; then commit " + sealedPath);
}

}  // namespace

StatusOr<runtime::StoreArchive> readArchivableStore(const std::string& storeDir,
                                                    const std::string& clusterName) {
  auto archive = runtime::readStoreFiles(storeDir, clusterName);
  if (!archive.ok()) return archive;
  std::erase_if(archive->files,
                [](const runtime::StoreFile& f) { return f.path == kSealedDigestFile; });
  return archive;
}

std::string sealedStorePath(const resources::SealedStore& sealed) {
  const fs::path file = sealed.file;
  const std::string& document = sealed.marks.of("file").fileName();
  // Documents read from stdin ("<stdin>") have no directory: the working directory stands in.
  if (file.is_absolute() || document.starts_with("<")) return file.string();
  return (fs::path(document).parent_path() / file).string();
}

std::string sealedIdentityPath(const resources::SealedStore& sealed) {
  if (!sealed.identityFile.starts_with("~/")) return sealed.identityFile;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + sealed.identityFile.substr(1);
}

StatusOr<bool> loadSealedStore(const resources::CertificateBundle& bundle,
                               const std::string& storeDir) {
  if (!bundle.sealedStore) return false;
  const std::string sealedPath = sealedStorePath(*bundle.sealedStore);
  auto file = runtime::readLocalFile(sealedPath);
  if (!file.ok() && file.status().code() == StatusCode::kNotFound) return false;
  if (!file.ok()) {
    return Status(file.status().code(),
                  who(bundle) + ": spec.sealedStore.file: " + file.status().message());
  }
  // Everything about the sealed file is checked before the store is touched.
  auto sealed = openSealed(bundle, sealedPath, *file);
  if (!sealed.ok()) return sealed.status();
  const std::string sealedDigest = archiveDigest(*sealed);
  // Decided under a shared lock first, so that read-only commands with nothing to load (the
  // common case) never wait for one another.
  if (auto reader = runtime::SecretStore::open(storeDir, runtime::SecretStore::Mode::kRead);
      reader.ok()) {
    auto local = readArchivableStore(storeDir, bundle.clusterName);
    const std::string recorded = recordedDigest(storeDir);
    if (local.ok() && recorded == sealedDigest) return false;  // in step, or only local moved
  }
  auto store = runtime::SecretStore::open(storeDir, runtime::SecretStore::Mode::kWrite);
  if (!store.ok()) {
    return Status(store.status().code(), who(bundle) + ": " + store.status().message());
  }
  auto local = readArchivableStore(storeDir, bundle.clusterName);
  if (!local.ok()) return local.status();
  const std::string localDigest = archiveDigest(*local);
  const std::string recorded = recordedDigest(storeDir);
  if (localDigest == sealedDigest) {
    if (recorded == sealedDigest) return false;
    if (Status s = recordDigest(storeDir, sealedDigest); !s.ok()) return s;
    return false;
  }
  // Only the local store moved since the last synchronisation: the next sealStore seals it.
  if (sealedDigest == recorded) return false;
  if (!local->files.empty() && localDigest != recorded)
    return diverged(bundle, storeDir, sealedPath);
  // The record travels inside the new tree, so the exchange installs both at once.
  sealed->files.push_back({std::string(kSealedDigestFile), 0600, sealedDigest + "\n"});
  if (Status s = runtime::replaceStoreDirectory(storeDir, *sealed); !s.ok()) {
    return Status(s.code(), who(bundle) + ": loading " + sealedPath + ": " + s.message());
  }
  return true;
}

StatusOr<bool> sealStore(const resources::CertificateBundle& bundle, const std::string& storeDir,
                         std::ostream& out, bool replaceWhateverItHolds) {
  if (!bundle.sealedStore) return false;
  const std::string sealedPath = sealedStorePath(*bundle.sealedStore);
  auto local = readArchivableStore(storeDir, bundle.clusterName);
  if (!local.ok())
    return Status(local.status().code(), who(bundle) + ": " + local.status().message());
  if (local->files.empty()) return false;
  const std::string digest = archiveDigest(*local);
  std::error_code ec;
  if (fs::exists(sealedPath, ec) && recordedDigest(storeDir) == digest) return false;
  // The sealed file must still be the one this store last sealed or loaded: one that a git pull
  // brought in meanwhile holds another machine's material, which is not overwritten.
  if (auto current = runtime::readLocalFile(sealedPath); current.ok() && !replaceWhateverItHolds) {
    auto opened = openSealed(bundle, sealedPath, *current);
    if (!opened.ok()) return opened.status();
    if (archiveDigest(*opened) != recordedDigest(storeDir) && archiveDigest(*opened) != digest) {
      return diverged(bundle, storeDir, sealedPath);
    }
  }
  auto ids = readIdentity(bundle);
  if (!ids.ok()) return ids.status();
  runtime::AgeRecipients recipients;
  for (const runtime::X25519Key& secret : ids->x25519) {
    auto pub = runtime::x25519PublicKey(secret);
    if (!pub.ok()) return Status(pub.status().code(), who(bundle) + ": " + pub.status().message());
    recipients.x25519.push_back(*pub);
  }
  const auto& extra = bundle.sealedStore->recipients;
  for (size_t i = 0; i < extra.size(); ++i) {
    auto key = runtime::parseAgeRecipient(extra[i]);
    if (!key.ok()) {
      return invalidArgument(who(bundle) + ": spec.sealedStore.recipients[" + std::to_string(i) +
                             "]: " + key.status().message());
    }
    recipients.x25519.push_back(*key);
  }
  auto sealed = runtime::ageEncrypt(runtime::encodeStoreArchive(*local), recipients);
  if (!sealed.ok()) {
    return Status(sealed.status().code(), who(bundle) + ": " + sealed.status().message());
  }
  if (const fs::path parent = fs::path(sealedPath).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);  // a failure shows in the write's error
  }
  // 0644 like the rest of the checkout: the content is encrypted, and it is meant to be
  // committed and read by other machines.
  if (Status s = runtime::writeFileAtomically(sealedPath, *sealed, 0644); !s.ok()) {
    return Status(s.code(), who(bundle) + ": spec.sealedStore.file: " + s.message());
  }
  if (Status s = recordDigest(storeDir, digest); !s.ok()) {
    return Status(s.code(), who(bundle) + ": " + s.message());
  }
  out << "sealed store " << sealedPath << " updated: commit it beside the desired state\n";
  return true;
}

}  // namespace kthw::engine
