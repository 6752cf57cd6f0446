#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// A secret store as one byte string: what kthw backup encrypts and kthw restore decrypts.
//
//   kthw-store-archive v1\n
//   cluster NAME\n
//   file MODE PATH-BYTES CONTENT-BYTES\n PATH \n CONTENT \n    (once per file, sorted by path)
//   end COUNT\n
//
// MODE is octal (0600), the byte counts decimal; PATH is relative to the store and uses "/".
// Directories are implied by the paths and restored 0700. The store's .lock is not included.
struct StoreFile {
  std::string path;
  unsigned mode = 0600;
  std::string content;
};

struct StoreArchive {
  std::string clusterName;
  std::vector<StoreFile> files;
};

std::string encodeStoreArchive(const StoreArchive& archive);
// Strict: anything but exactly the layout above is InvalidArgument, and so is a path that is
// empty, absolute, has a "." or ".." component, an empty component, a NUL or a newline, appears
// twice, or a mode beyond 0777.
StatusOr<StoreArchive> decodeStoreArchive(std::string_view text);

// Every regular file under `dir` but its top-level .lock. The caller holds the store's lock.
// A symlink or any other kind of file is refused: a store holds none.
StatusOr<StoreArchive> readStoreFiles(const std::string& dir, const std::string& clusterName);

// Whether `dir` holds any file besides .lock (a missing directory is empty).
StatusOr<bool> storeHoldsFiles(const std::string& dir);

// Replaces the directory `dir` (which must exist; the caller holds its lock) with exactly the
// archive's files: a new directory is written and fsynced beside it, then the two are
// exchanged in one rename (renameat2 RENAME_EXCHANGE), so after a crash `dir` is either the old
// store or the new one, whole. The old store is then removed, and so is whatever a restore that
// crashed left beside it.
Status replaceStoreDirectory(const std::string& dir, const StoreArchive& archive);

// Steps at which replaceStoreDirectoryForTesting ends the process at once with _exit, as a crash
// there would, so that tests can check what each crash leaves behind. Never set outside tests:
// replaceStoreDirectory itself takes no faults.
struct StoreReplaceFaultsForTesting {
  enum class Step {
    kNone,
    kNewFilesWritten,       // `filesWritten` files of the new directory are written
    kNewDirectoryComplete,  // the new directory is written and fsynced, not yet exchanged
    kExchanged,             // the store is exchanged, the old one not yet removed
  };
  Step crashAt = Step::kNone;
  size_t filesWritten = 1;
};
// The exit status of a process that replaceStoreDirectoryForTesting ended.
inline constexpr int kStoreReplaceCrashExitForTesting = 86;
Status replaceStoreDirectoryForTesting(const std::string& dir, const StoreArchive& archive,
                                       const StoreReplaceFaultsForTesting& faults);

}  // namespace kthw::runtime
