#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/binary_flags.h"

namespace kthw::runtime {

// sha256 of managed files, keyed by path, inode, size, mtime and ctime (nanoseconds): a file whose
// key is unchanged is not read again (binaries are large). Any write, rename or chmod moves ctime,
// which user space cannot set back.
inline constexpr const char* kHashCache = "/var/lib/kthw/probe-hashes";

// What a pass needs to know about one host. All of it is gathered by one script in one exec.
struct ProbeRequest {
  std::vector<std::string> paths;     // files and directories: type, mode, owner, size, sha256
  std::vector<std::string> units;     // systemd units: load, active, enabled state
  std::vector<std::string> blocks;    // files whose kthw-managed block is returned verbatim
  std::vector<std::string> sysctls;   // current kernel values
  std::vector<std::string> modules;   // loaded or not
  std::vector<std::string> heads;     // files whose first line is returned (ownership markers)
  std::vector<FlagCheck> flagChecks;  // flags a unit passes to a binary (see binary_flags.h)
  bool facts = true;                  // OS release and kernel
  // Keep the host's hash cache (kHashCache) up to date; only passes that may write (apply)
  // set it, so diff stays read-only.
  bool updateHashCache = false;
  std::string hashCache = kHashCache;

  void addPath(const std::string& p);
  void addUnit(const std::string& u);
};

enum class FileType { kAbsent, kFile, kDirectory, kSymlink, kOther };

struct FileState {
  FileType type = FileType::kAbsent;
  unsigned mode = 0;
  std::string owner;
  std::string group;
  uint64_t size = 0;
  std::string sha256;  // regular files only
};

struct UnitState {
  std::string loadState;    // loaded, not-found, ...
  std::string activeState;  // active, inactive, failed, ...
  std::string subState;
  std::string unitFileState;  // enabled, disabled, ...
  std::string activeEnterTimestampMonotonic;
};

struct ProbeResult {
  std::map<std::string, FileState> files;
  std::map<std::string, UnitState> units;
  bool systemctlAvailable = false;
  std::map<std::string, std::optional<std::string>> blocks;   // nullopt: no managed block
  std::map<std::string, std::optional<std::string>> sysctls;  // nullopt: not readable
  std::map<std::string, bool> modules;
  std::map<std::string, std::string> heads;
  std::map<std::string, BinaryFlags> binaryFlags;  // by binary path, for executable binaries
  std::string osRelease;
  std::string kernel;

  const FileState& file(const std::string& path) const;
};

// Markers of the block kthw owns inside a shared file such as /etc/hosts.
inline constexpr const char* kBlockBegin = "# BEGIN kthw managed block";
inline constexpr const char* kBlockEnd = "# END kthw managed block";

std::string probeScript(const ProbeRequest& request);
StatusOr<ProbeResult> parseProbeOutput(const std::string& output);

// Prints each path's content, length-framed, in one exec; parseFetchOutput reads it back.
std::string fetchScript(const std::vector<std::string>& paths);
StatusOr<std::map<std::string, std::string>> parseFetchOutput(const std::string& output);

}  // namespace kthw::runtime
