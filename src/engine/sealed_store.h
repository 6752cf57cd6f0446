#pragma once

// The sealed store: a CertificateBundle's whole secret store as one age-encrypted
// kthw-store-archive v1 file (spec.sealedStore.file) that is committed beside the desired state,
// so that every machine holding the identity converges the same cluster with the same material.
// The local secret store is a cache of it:
//
//   loadSealedStore  before a pass: the local store takes the sealed file's content, unless it
//                    holds changes that were never sealed (then the two machines diverged);
//   sealStore        after a command wrote to the store: the sealed file takes the store's
//                    content, if it differs from what was last sealed or loaded.
//
// What was last sealed or loaded is recorded in the store itself, in kSealedDigestFile (the
// sha256 of the archive's plaintext); it is local bookkeeping and never part of an archive.

#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"
#include "resources/certificate_bundle.h"
#include "runtime/store_archive.h"

namespace kthw::engine {

inline constexpr std::string_view kSealedDigestFile = ".sealed-sha256";

// runtime::readStoreFiles without kSealedDigestFile: what kthw backup and the sealed file hold.
// The caller holds the store's lock.
StatusOr<runtime::StoreArchive> readArchivableStore(const std::string& storeDir,
                                                    const std::string& clusterName);

// spec.sealedStore.file, a relative path resolved against the directory of the document that
// declares it.
std::string sealedStorePath(const resources::SealedStore& sealed);
// spec.sealedStore.identityFile with a leading ~/ expanded.
std::string sealedIdentityPath(const resources::SealedStore& sealed);

// Brings the local store at `storeDir` up to the bundle's sealed file. Does nothing when the
// bundle has no sealedStore or the sealed file does not exist yet (the next sealStore creates
// it). Opens the store for writing itself (creating it 0700), so the caller must not hold it
// open. Returns whether the local store was replaced.
//
// Refused, with nothing written, and the message naming the bundle and the file: an identity
// file that group or others can access or that lies inside a git work tree, an identity that
// does not open the sealed file, a sealed file that is tampered with, truncated or not a store
// archive, one of another cluster, and a local store that changed since it was last sealed
// while the sealed file changed too (two machines diverged).
StatusOr<bool> loadSealedStore(const resources::CertificateBundle& bundle,
                               const std::string& storeDir);

// Writes the store at `storeDir` into the bundle's sealed file (atomically), encrypted to the
// identity's public key and spec.sealedStore.recipients, when the store holds files and its
// content differs from what was last sealed or loaded (or the sealed file does not exist).
// Prints one line to `out` when it does ("sealed store FILE updated: ..."); never key material.
// The caller holds the store's writer lock. Returns whether the sealed file was written; false
// as well when the bundle has no sealedStore.
//
// A sealed file that is neither what this store last sealed or loaded nor this store's content
// (another machine sealed it and a git pull brought it in meanwhile) is not overwritten: that is
// divergence, refused as loadSealedStore refuses it, unless `replaceWhateverItHolds` (kthw
// restore, which is how divergence is resolved).
StatusOr<bool> sealStore(const resources::CertificateBundle& bundle, const std::string& storeDir,
                         std::ostream& out, bool replaceWhateverItHolds = false);

}  // namespace kthw::engine
