#pragma once

#include <chrono>
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
  std::vector<std::string> paths;    // files and directories: type, mode, owner, size, sha256
  std::vector<std::string> units;    // systemd units: load, active, enabled state
  std::vector<std::string> blocks;   // files whose kthw-managed block is returned verbatim
  std::vector<std::string> sysctls;  // current kernel values
  std::vector<std::string> modules;  // loaded or not
  std::vector<std::string> heads;    // files whose first line is returned (ownership markers)
  // Files whose content is returned when their sha256 is not the one given (small files only:
  // what a guard must read before it may replace them; nothing is sent when they match).
  std::vector<std::pair<std::string, std::string>> contentsUnlessSha256;
  std::vector<FlagCheck> flagChecks;  // flags a unit passes to a binary (see binary_flags.h)
  bool facts = true;                  // OS release, kernel and the host's wall clock
  // Preflight: commands looked up with `command -v`, TCP ports whose listener is named (process,
  // pid and the systemd unit of its cgroup), and whether swap is on.
  std::vector<std::string> commands;
  std::vector<int> ports;
  bool swap = false;
  // Keep the host's hash cache (kHashCache) up to date; only passes that may write (apply)
  // set it, so diff stays read-only.
  bool updateHashCache = false;
  std::string hashCache = kHashCache;

  void addPath(const std::string& p);
  void addUnit(const std::string& u);
  void addCommand(const std::string& c);
  void addPort(int port);
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

// Why a unit that is not active is not running, in a few words for a plan: "not running",
// "failed", or "exited, systemd restarts it" for a unit systemd restarts after a crash
// (Restart=, during RestartSec=).
std::string notRunningReason(const UnitState& state);

// A process listening on a requested TCP port. pid, process and unit are empty when ss could not
// say (another user's socket seen without root).
struct PortListener {
  int port = 0;
  std::string pid;
  std::string process;
  std::string unit;  // the systemd unit (service or scope) of its cgroup
};

struct ProbeResult {
  std::map<std::string, FileState> files;
  std::map<std::string, UnitState> units;
  bool systemctlAvailable = false;
  std::map<std::string, std::optional<std::string>> blocks;   // nullopt: no managed block
  std::map<std::string, std::optional<std::string>> sysctls;  // nullopt: not readable
  std::map<std::string, bool> modules;
  std::map<std::string, std::string> heads;
  std::map<std::string, std::string> contents;     // of contentsUnlessSha256 files that differ
  std::map<std::string, BinaryFlags> binaryFlags;  // by binary path, for executable binaries
  std::string osRelease;
  std::string kernel;
  std::map<std::string, bool> commands;  // found by command -v
  bool listenersKnown = false;           // ss ran; `listeners` is complete for the ports asked
  bool ssMissing = false;                // ports were asked, but the host has no ss
  bool ssFailed = false;                 // ss is there but `ss -H -ltnpe` failed
  std::vector<PortListener> listeners;
  std::optional<bool> swapOn;          // nullopt: not asked or /proc/swaps unreadable
  std::optional<int64_t> hostClockNs;  // the host's wall clock near the end of the probe
  // The host's clock minus this machine's, beyond what the round trip leaves uncertain (see
  // clockSkew); set by the host ops that ran the probe, nullopt when not measured.
  std::optional<std::chrono::milliseconds> clockSkew;

  const FileState& file(const std::string& path) const;
};

// Markers of the block kthw owns inside a shared file such as /etc/hosts.
inline constexpr const char* kBlockBegin = "# BEGIN kthw managed block";
inline constexpr const char* kBlockEnd = "# END kthw managed block";

std::string probeScript(const ProbeRequest& request);
// Never fails on odd lines: a line it does not understand is ignored.
StatusOr<ProbeResult> parseProbeOutput(const std::string& output);

// How far the host's clock (read at some instant between `before` and `after` on this machine's
// clock, all nanoseconds since the epoch) is off: the distance from the midpoint minus half the
// round trip, so 0 when the difference could be the exec's own time, positive when the host is
// ahead, negative when it is behind. A lower bound of the true skew.
std::chrono::milliseconds clockSkew(int64_t hostNs, int64_t beforeNs, int64_t afterNs);

// Prints each path's content, length-framed, in one exec; parseFetchOutput reads it back.
// Files larger than kFetchMaxBytes are left out, as absent ones are.
inline constexpr size_t kFetchMaxBytes = size_t{4} << 20;
std::string fetchScript(const std::vector<std::string>& paths);
StatusOr<std::map<std::string, std::string>> parseFetchOutput(const std::string& output);

}  // namespace kthw::runtime
