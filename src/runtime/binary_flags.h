#pragma once

#include <string>
#include <vector>

namespace kthw::runtime {

// Which command-line flags a binary on a host accepts, so a unit whose flags the binary does not
// know is never installed (it would crash-loop the service on every host at once).
//
// The flag list is read from the binary's `--help` (and its version from `--version`) and kept on
// the host in kFlagCache, keyed by the binary's device, inode, size, mtime and ctime (ns), so it is
// read again only when the binary changes. A flag `--help` does not list (Kubernetes hides
// deprecated flags) is confirmed by a parse: `BINARY --NAME= --help` is refused with "unknown
// flag" (cobra) or "flag provided but not defined" (Go's flag package) only when it is unknown.
inline constexpr const char* kFlagCache = "/var/lib/kthw/flags";

struct FlagCheck {
  std::string binary;              // absolute path on the host
  std::vector<std::string> flags;  // names without dashes
};

struct BinaryFlags {
  std::string version;               // first line of --version, "" when it prints none
  std::vector<std::string> unknown;  // names the binary refuses
};

// Probe lines for `checks`: "FV\tBINARY\tVERSION" for each executable binary, then
// "FX\tBINARY\tNAME" for each flag it does not accept. With `keepCache` the flag list is stored
// on the host; without, the host is left untouched (diff).
std::string flagProbeScript(const std::vector<FlagCheck>& checks, bool keepCache,
                            const std::string& cacheDir = kFlagCache);

// A FileSpec::check (see atomicWriteScript) that fails, naming every flag the binary does not
// accept and the binary's version. On a unit file it looks at the binary when the check runs,
// after a new binary was installed earlier in the same pass; a binary that is not there fails it
// too, so a unit is never installed ahead of a binary that could not be.
// `binaryWord` is the shell word that names the binary: by default its path; "\"$t\"" checks the
// new content of the binary itself before it replaces the old one.
std::string flagWriteCheck(const FlagCheck& check, const std::string& binaryWord = "",
                           const std::string& cacheDir = kFlagCache);

// "flag --a, --b are not accepted by /usr/local/bin/x (Kubernetes v1.36.3)".
std::string describeUnknownFlags(const std::string& binary, const BinaryFlags& flags);

}  // namespace kthw::runtime
