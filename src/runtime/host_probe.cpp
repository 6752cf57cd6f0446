// Composing the probe script: the request helpers and probeScript, clockSkew and fetchScript.
#include "runtime/host_probe.h"

#include <algorithm>

#include "runtime/host_probe_internal.h"
#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace probe_internal {

// Prints "C\tPATH" and the content of PATH, each line prefixed "c\t", when PATH is a file whose
// sha256 is not `sha256`. The trailing echo ends a last line that has no newline, so that the
// next tag starts a line.
std::string contentScript(const std::string& path, const std::string& sha256) {
  return "if [ -f " + shellQuote(path) + " ] && [ \"$(sha256sum < " + shellQuote(path) +
         " 2>/dev/null | cut -c1-64)\" != " + shellQuote(sha256) + " ]; then printf 'C\\t%s\\n' " +
         shellQuote(path) + "; sed 's/^/c\t/' " + shellQuote(path) + "; echo; fi\n";
}

// Whether a flag check's binary is among the paths (fileRecords checks it).
bool amongPaths(const ProbeRequest& r, const std::string& path) {
  return std::find(r.paths.begin(), r.paths.end(), path) != r.paths.end();
}

}  // namespace probe_internal

using probe_internal::amongPaths;
using probe_internal::contentScript;
using probe_internal::fileRecords;
using probe_internal::kHeader;
using probe_internal::portRecords;

void ProbeRequest::addPath(const std::string& p) {
  if (std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(p);
}

void ProbeRequest::addUnit(const std::string& u) {
  if (std::find(units.begin(), units.end(), u) == units.end()) units.push_back(u);
}

void ProbeRequest::addCommand(const std::string& c) {
  if (std::find(commands.begin(), commands.end(), c) == commands.end()) commands.push_back(c);
}

void ProbeRequest::addPort(int port) {
  if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
}

const FileState& ProbeResult::file(const std::string& path) const {
  static const FileState kAbsent;
  auto it = files.find(path);
  return it == files.end() ? kAbsent : it->second;
}

std::string probeScript(const ProbeRequest& r) {
  std::string s = "printf '%s\\n' '" + std::string(kHeader) + "'\n";
  if (!r.paths.empty()) s += fileRecords(r);
  if (!r.units.empty()) {
    s += "if command -v systemctl >/dev/null 2>&1; then printf 'SYSTEMD\\n'; "
         "systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,"
         "ActiveEnterTimestampMonotonic --" +
         quotedList(r.units) + " 2>/dev/null; printf '\\nSYSTEMD-END\\n'; fi\n";
  }
  for (const std::string& b : r.paths.empty() ? r.blocks : std::vector<std::string>()) {
    s += "printf 'B\\t%s\\n' " + shellQuote(b) + "; [ -f " + shellQuote(b) + " ] && [ -r " +
         shellQuote(b) + " ] && awk '/^" + std::string(kBlockBegin) + "$/,/^" +
         std::string(kBlockEnd) + "$/ { print \"b\\t\" $0 }' " + shellQuote(b) + "\n";
  }
  for (const std::string& key : r.sysctls) {
    std::string path = key;
    std::replace(path.begin(), path.end(), '.', '/');
    // The first line, as $(cat) kept it; read is a builtin (one process less per key).
    s += "v=; if { IFS= read -r v || [ -n \"$v\" ]; } 2>/dev/null < " +
         shellQuote("/proc/sys/" + path) + "; then printf 'S\\t%s\\t%s\\n' " + shellQuote(key) +
         " \"$v\"; else printf 'S-\\t%s\\n' " + shellQuote(key) + "; fi\n";
  }
  for (const std::string& m : r.modules) {
    s += "if [ -d " + shellQuote("/sys/module/" + m) + " ]; then printf 'M\\t%s\\t1\\n' " +
         shellQuote(m) + "; else printf 'M\\t%s\\t0\\n' " + shellQuote(m) + "; fi\n";
  }
  for (const std::string& h : r.heads) {
    s += "[ -f " + shellQuote(h) + " ] && printf 'L\\t%s\\t%s\\n' " + shellQuote(h) +
         " \"$(head -n 1 " + shellQuote(h) + ")\"\n";
  }
  for (const auto& [path, sha256] : r.contentsUnlessSha256) {
    // Those among the paths were looked at with the file records.
    if (std::find(r.paths.begin(), r.paths.end(), path) == r.paths.end()) {
      s += contentScript(path, sha256);
    }
  }
  if (r.facts) {
    s += "( . /etc/os-release 2>/dev/null; printf 'O\\t%s\\n' \"$PRETTY_NAME\" ); "
         "IFS= read -r kthw_k 2>/dev/null < /proc/sys/kernel/osrelease || kthw_k=$(uname -r); "
         "printf 'K\\t%s\\n' \"$kthw_k\"\n";
  }
  for (const std::string& c : r.commands) {
    s += "if command -v " + shellQuote(c) + " >/dev/null 2>&1; then printf 'CMD\\t%s\\t1\\n' " +
         shellQuote(c) + "; else printf 'CMD\\t%s\\t0\\n' " + shellQuote(c) + "; fi\n";
  }
  if (!r.ports.empty() && r.paths.empty()) s += portRecords(r);
  if (r.swap) {
    s += "[ -r /proc/swaps ] && awk 'NR > 1 { n++ } END { printf \"SWAP\\t%d\\n\", n }' "
         "/proc/swaps\n";
  }
  std::vector<FlagCheck> otherFlags;  // those fileRecords does not check
  for (const FlagCheck& c : r.flagChecks) {
    if (!amongPaths(r, c.binary)) otherFlags.push_back(c);
  }
  // The flag cache sits beside the hash cache (kFlagCache beside kHashCache).
  s += flagProbeScript(otherFlags, r.updateHashCache,
                       r.hashCache.substr(0, r.hashCache.rfind('/')) + "/flags");
  // Last, so that the clock is read as close to the end of the exec as the script allows.
  if (r.facts) s += "printf 'T\\t%s\\n' \"$(date +%s%N)\"\n";
  s += "printf 'END\\n'\n";
  return s;
}

std::chrono::milliseconds clockSkew(int64_t hostNs, int64_t beforeNs, int64_t afterNs) {
  if (afterNs < beforeNs) std::swap(afterNs, beforeNs);
  // Halves first: no sum of two epoch times (which could overflow).
  const int64_t midpoint = beforeNs / 2 + afterNs / 2;
  const int64_t halfTrip = afterNs / 2 - beforeNs / 2;
  const int64_t offset = hostNs - midpoint;
  const int64_t beyond = offset > halfTrip    ? offset - halfTrip
                         : offset < -halfTrip ? offset + halfTrip
                                              : 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(beyond));
}

std::string fetchScript(const std::vector<std::string>& paths) {
  std::string s;
  for (const std::string& p : paths) {
    // A file beyond kFetchMaxBytes is left out as if absent: what is fetched is key material,
    // configs and units, and a huge file at such a path is not one kthw wrote.
    s += "if [ -f " + shellQuote(p) + " ] && [ \"$(wc -c < " + shellQuote(p) + ")\" -le " +
         std::to_string(kFetchMaxBytes) + " ]; then printf 'C\\t%s\\t%s\\n' \"$(wc -c < " +
         shellQuote(p) + ")\" " + shellQuote(p) + "; cat -- " + shellQuote(p) + "; fi\n";
  }
  return s;
}

}  // namespace kthw::runtime
