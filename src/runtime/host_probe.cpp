#include "runtime/host_probe.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "runtime/binary_flags_cache.h"
#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

constexpr std::string_view kHeader = "KTHW-PROBE 1";

std::string quotedList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += " " + shellQuote(i);
  return out;
}

std::vector<std::string> splitTabs(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.emplace_back(line.substr(start, tab == std::string_view::npos ? line.npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

FileType fileTypeFromStat(std::string_view s) {
  if (s == "regular file" || s == "regular empty file") return FileType::kFile;
  if (s == "directory") return FileType::kDirectory;
  if (s == "symbolic link") return FileType::kSymlink;
  return FileType::kOther;
}

// A non-negative decimal number of at most 18 digits, nothing else.
std::optional<int64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// `date +%s%N`: nanoseconds since the epoch, or seconds where %N is not supported (then it is
// printed as is, "N", or dropped).
std::optional<int64_t> clockNanoseconds(std::string s) {
  if (s.ends_with("%N") || s.ends_with("N")) s.erase(s.find_last_not_of("%N") + 1);
  if (s.size() >= 17 && s.size() <= 19) {
    if (s.size() == 19 && s > "9000000000000000000") return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && v >= 0) return v;
    return std::nullopt;
  }
  if (s.size() > 11) return std::nullopt;
  auto seconds = number(s);
  if (!seconds) return std::nullopt;
  return *seconds * 1000000000;
}

// Prints "C\tPATH" and the content of PATH, each line prefixed "c\t", when PATH is a file whose
// sha256 is not `sha256`. The trailing echo ends a last line that has no newline, so that the
// next tag starts a line.
std::string contentScript(const std::string& path, const std::string& sha256) {
  return "if [ -f " + shellQuote(path) + " ] && [ \"$(sha256sum < " + shellQuote(path) +
         " 2>/dev/null | cut -c1-64)\" != " + shellQuote(sha256) + " ]; then printf 'C\\t%s\\n' " +
         shellQuote(path) + "; sed 's/^/c\t/' " + shellQuote(path) + "; echo; fi\n";
}

// The awk that turns `stat` lines into F and H records (see fileRecords). Its input fields:
// F, path, type, mode, user, group, size, inode, mtime, ctime. Awk code cannot hold a single
// quote (the program is one), hence \047; q() shell-quotes a word.
constexpr std::string_view kFileAwk = R"AWK(
function q(s,  o, i) {
  o = ""
  while ((i = index(s, "\047")) > 0) { o = o substr(s, 1, i - 1) "\047\\\047\047"; s = substr(s, i + 1) }
  return "\047" o s "\047"
}
BEGIN {
  cache = ENVIRON["kthw_hc"]
  while ((getline l < cache) > 0) {
    old = old l "\n"
    if (split(l, a, "\t") == 6) h[a[1] "\t" a[2] "\t" a[3] "\t" a[4] "\t" a[5]] = a[6]
  }
  close(cache)
}
{ print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 }
$3 ~ /^regular/ {
  reg[++nr] = $2; k[$2] = $2 "\t" $8 "\t" $7 "\t" $9 "\t" $10
  if (k[$2] in h) sum[$2] = h[k[$2]]; else miss = miss " " q($2)
}
END {
  if (miss != "") {
    cmd = "sha256sum --" miss " 2>/dev/null"
    while ((cmd | getline l) > 0) if (match(l, /^[0-9a-f]+  /)) sum[substr(l, RLENGTH + 1)] = substr(l, 1, RLENGTH - 2)
    close(cmd)
  }
  for (i = 1; i <= nr; i++) if (reg[i] in sum) {
    print "H\t" sum[reg[i]] "\t" reg[i]
    new = new k[reg[i]] "\t" sum[reg[i]] "\n"
  }
  for (i = 1; i <= nc; i++) {
    p = ENVIRON["kthw_cp" i]
    if (!(p in sum)) { fflush(); system(ENVIRON["kthw_cx" i]); continue }
    if (sum[p] == ENVIRON["kthw_ch" i]) continue
    print "C\t" p
    while ((getline l < p) > 0) print "c\t" l
    close(p)
    print ""
  }
  if (upd && new != old) {
    fflush()
    w = "(mkdir -p -m 0700 " q(ENVIRON["kthw_hd"]) " && umask 077 && t=" q(cache) ".tmp.$$ && cat > \"$t\" && mv -f \"$t\" " q(cache) ") 2>/dev/null; cat > /dev/null"
    printf "%s", new | w
    close(w)
  }
}
)AWK";

// Shared by the listener awks: the process name (comm), its start time (clock ticks since boot)
// and the systemd unit of a pid: the last component of its cgroup path (etcd.service,
// session-3.scope).
constexpr std::string_view kProcAwk = R"AWK(
function comm(pid,  f, l) { f = "/proc/" pid "/comm"; l = ""; getline l < f; close(f); gsub(/\t/, " ", l); return l }
function started(pid,  f, l, x) {
  f = "/proc/" pid "/stat"; l = ""; getline l < f; close(f)
  if (l == "") return ""
  sub(/^.*\) /, "", l); split(l, x, " "); return x[20]
}
function unit(pid,  f, l, c, m, u) {
  f = "/proc/" pid "/cgroup"; u = ""
  while ((getline l < f) > 0) if (l ~ /^0::/ || l ~ /:name=systemd:/) { m = split(l, c, "/"); u = c[m] }
  close(f); gsub(/\t/, " ", u); return u
}
)AWK";

// Without ss: the listening sockets of the asked ports from /proc/net/tcp and tcp6, each mapped
// to its process by the listener cache (socket inode, pid, the pid's start time) that the ss
// path below wrote. Any socket the cache does not know, or whose process is gone (or is another
// one now), exits 1: ss is asked then, as it is when no asked port is listened on (so that an ss
// that fails is still reported). A socket inode is never reused while the socket lives.
constexpr std::string_view kListenerFnAwk = R"AWK(
function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return v }
function cachedListeners(  cache, cp, cs, l, a, x, f, t, first, ok, out, port, ino, found) {
  cache = ENVIRON["kthw_lc"]
  while ((getline l < cache) > 0) if (split(l, a, "\t") == 3) { cp[a[1]] = a[2]; cs[a[1]] = a[3] }
  close(cache)
  ok = 0; out = ""; found = 0
  for (t = 1; t <= 2; t++) {
    f = t == 1 ? "/proc/net/tcp" : "/proc/net/tcp6"; first = 1
    while ((getline l < f) > 0) {
      if (first) { first = 0; if (t == 1) ok = 1; continue }
      split(l, x, " ")
      if (x[4] != "0A") continue
      port = hex(substr(x[2], index(x[2], ":") + 1))
      if (index(ports, " " port " ") == 0) continue
      ino = x[10]
      if (!(ino in cp) || cs[ino] == "" || started(cp[ino]) != cs[ino]) { close(f); return "" }
      out = out "P\t" port "\t" cp[ino] "\t" comm(cp[ino]) "\t" unit(cp[ino]) "\n"; found++
    }
    close(f)
  }
  if (!ok || !found) return ""
  return "SS\n" out
}
)AWK";
constexpr std::string_view kListenerCacheAwk =
    R"AWK(BEGIN { o = cachedListeners(); if (o == "") exit 1; printf "%s", o })AWK";

// ss's lines: the listener of each asked port, the first process ss names. With updateHashCache
// the listener cache learns each socket whose process ss named.
constexpr std::string_view kSsAwk = R"AWK(
function q(s,  o, i) {
  o = ""
  while ((i = index(s, "\047")) > 0) { o = o substr(s, 1, i - 1) "\047\\\047\047"; s = substr(s, i + 1) }
  return "\047" o s "\047"
}
{
  n = split($4, a, ":"); port = a[n]
  if (port !~ /^[0-9]+$/ || index(ports, " " port " ") == 0) next
  pid = ""; name = ""; u = ""
  if (match($0, /pid=[0-9]+/)) pid = substr($0, RSTART + 4, RLENGTH - 4)
  if (match($0, /\(\("[^"]*"/)) name = substr($0, RSTART + 3, RLENGTH - 4)
  if (pid != "") {
    u = unit(pid)
    if (match($0, / ino:[0-9]+/)) { s = started(pid); if (s != "") new = new substr($0, RSTART + 5, RLENGTH - 5) "\t" pid "\t" s "\n" }
  }
  gsub(/\t/, " ", name)
  print "P\t" port "\t" pid "\t" name "\t" u
}
END {
  cache = ENVIRON["kthw_lc"]
  if (upd) {
    while ((getline l < cache) > 0) old = old l "\n"
    close(cache)
  }
  if (upd && new != old) {
    fflush()
    w = "(mkdir -p -m 0700 " q(ENVIRON["kthw_hd"]) " && umask 077 && t=" q(cache) ".tmp.$$ && cat > \"$t\" && mv -f \"$t\" " q(cache) ") 2>/dev/null; cat > /dev/null"
    printf "%s", new | w
    close(w)
  }
}
)AWK";

// Asks ss for the listeners of the asked ports: SS and P lines, or SS! when ss fails.
std::string ssScript(const ProbeRequest& r) {
  std::string ports = " ";
  for (int p : r.ports) ports += std::to_string(p) + " ";
  const std::string dir = r.hashCache.substr(0, r.hashCache.rfind('/'));
  return "if kthw_ss=$(ss -H -ltnpe 2>/dev/null); then printf 'SS\\n'; "
         "printf '%s\\n' \"$kthw_ss\" | kthw_lc=" +
         shellQuote(dir + "/listeners") + " kthw_hd=" + shellQuote(dir) +
         " awk -v ports=" + shellQuote(ports) + " -v upd=" + (r.updateHashCache ? "1" : "0") +
         " '" + std::string(kProcAwk) + std::string(kSsAwk) + "'; else printf 'SS!\\n'; fi\n";
}

// The listener of each asked port (see kListenerFnAwk and kSsAwk). SS only when ss
// succeeded: an ss that fails (no -H before iproute2 4.14, no netlink) must not read as
// "nothing listens".
std::string portRecords(const ProbeRequest& r) {
  std::string ports = " ";
  for (int p : r.ports) ports += std::to_string(p) + " ";
  const std::string dir = r.hashCache.substr(0, r.hashCache.rfind('/'));
  const std::string env =
      "kthw_lc=" + shellQuote(dir + "/listeners") + " kthw_hd=" + shellQuote(dir) + " ";
  return "if ! command -v ss >/dev/null 2>&1; then printf 'SS-\\n'; "
         "elif kthw_p=$(" +
         env + "awk -v ports=" + shellQuote(ports) + " '" + std::string(kProcAwk) +
         std::string(kListenerFnAwk) + std::string(kListenerCacheAwk) +
         "'); then printf '%s\\n' \"$kthw_p\"; else " + ssScript(r) + "fi\n";
}

// More of the file awk (see fileRecords): the managed blocks, the listeners (from the listener
// cache, else ss as before) and the flag checks of binaries among the paths (from their cached
// flag lists, else kthw_flags as before), so that none of them costs a process of its own.
std::string fileExtrasAwk() {
  return std::string(kProcAwk) + std::string(kListenerFnAwk) + R"AWK(
function flagsCached(i, p,  c, l, ver, h, w, m, j, hit) {
  c = ENVIRON["kthw_fc" i]; hit = 0; ver = ""
  if ((getline l < c) > 0 && l == fk[p]) {
    hit = 1
    if ((getline ver < c) <= 0) ver = ""
    while ((getline l < c) > 0) h[l] = 1
  }
  close(c)
  if (hit) {
    m = split(ENVIRON["kthw_fw" i], w, "\n")
    for (j = 1; j <= m; j++) if (w[j] != "" && !(("--" w[j]) in h)) hit = 0
  }
  if (hit) print "FV\t" p "\t" substr(ver, 1, 120)
  return hit
}
{ st[$2] = $3 }
$3 ~ /^regular/ { fk[$2] = $11 ":" $8 ":" $7 ":" $12 ":" $13 }
END {
  for (i = 1; i <= nb; i++) {
    p = ENVIRON["kthw_b" i]; print "B\t" p; inb = 0
    while ((getline l < p) > 0) {
      if (!inb) { if (l ~ /^)AWK" +
         std::string(kBlockBegin) + R"AWK($/) { inb = 1; print "b\t" l } }
      else { print "b\t" l; if (l ~ /^)AWK" +
         std::string(kBlockEnd) + R"AWK($/) inb = 0 }
    }
    close(p)
  }
  if (np) {
    if (ENVIRON["kthw_hs"] != "1") print "SS-"
    else { o = cachedListeners(); if (o != "") printf "%s", o; else { fflush(); system(ENVIRON["kthw_sx"]) } }
  }
  for (i = 1; i <= nf; i++) {
    p = ENVIRON["kthw_fb" i]
    if (!(p in st) || ((p in fk) && flagsCached(i, p))) continue
    fflush(); system(ENVIRON["kthw_fx" i])
  }
}
)AWK";
}

// Whether a flag check's binary is among the paths (fileRecords checks it).
bool amongPaths(const ProbeRequest& r, const std::string& path) {
  return std::find(r.paths.begin(), r.paths.end(), path) != r.paths.end();
}

// The file records in one stat and one awk: F for each path; H (sha256) for each regular file,
// from the hash cache when its key (path, inode, size, mtime, ctime) is unchanged, else from one
// sha256sum over the rest; with updateHashCache, the cache is rewritten when what it should hold
// changed (not on every pass). Then the C records of the contentsUnlessSha256 files among the
// paths, from the hashes just found; any of them that is not a regular file here (a symlink, say)
// is looked at by contentScript, as the files that are not among the paths are. Then the
// managed blocks, the listeners and the flags of binaries among the paths (fileExtrasAwk).
std::string fileRecords(const ProbeRequest& r) {
  const std::string dir = r.hashCache.substr(0, r.hashCache.rfind('/'));
  std::string env = "kthw_hc=" + shellQuote(r.hashCache) + " kthw_hd=" + shellQuote(dir) + " ";
  size_t n = 0;
  for (const auto& [path, sha256] : r.contentsUnlessSha256) {
    if (!amongPaths(r, path)) continue;
    const std::string i = std::to_string(++n);
    env += "kthw_cp" + i + "=" + shellQuote(path) + " kthw_ch" + i + "=" + shellQuote(sha256) +
           " kthw_cx" + i + "=" + shellQuote(contentScript(path, sha256)) + " ";
  }
  for (size_t i = 0; i < r.blocks.size(); ++i) {
    env += "kthw_b" + std::to_string(i + 1) + "=" + shellQuote(r.blocks[i]) + " ";
  }
  std::string pre;
  std::string ports = " ";
  if (!r.ports.empty()) {
    for (int p : r.ports) ports += std::to_string(p) + " ";
    pre = "kthw_hs=0; command -v ss >/dev/null 2>&1 && kthw_hs=1\n";
    env += "kthw_hs=$kthw_hs kthw_lc=" + shellQuote(dir + "/listeners") +
           " kthw_sx=" + shellQuote(ssScript(r)) + " ";
  }
  size_t flags = 0;
  for (const FlagCheck& c : r.flagChecks) {
    if (!amongPaths(r, c.binary)) continue;
    const std::string i = std::to_string(++flags);
    std::string wanted;
    for (const std::string& f : c.flags) wanted += f + "\n";
    env += "kthw_fb" + i + "=" + shellQuote(c.binary) + " kthw_fc" + i + "=" +
           shellQuote(flagCacheFile(c.binary, dir + "/flags")) + " kthw_fw" + i + "=" +
           shellQuote(wanted) + " kthw_fx" + i + "=" +
           shellQuote(flagCheckScript(c, r.updateHashCache, dir + "/flags")) + " ";
  }
  // The flag lists' key fields (device, and mtime and ctime as kthw_flags prints them) only when
  // a flag check needs them: the format stays the one every probe used before otherwise.
  return pre + "stat -c 'F\t%n\t%F\t%a\t%U\t%G\t%s\t%i\t%y\t%z" +
         (flags > 0 ? "\t%d\t%.9Y\t%.9Z" : "") + "' --" + quotedList(r.paths) + " 2>/dev/null | " +
         env + "awk -F'\t' -v upd=" + (r.updateHashCache ? "1" : "0") +
         " -v nc=" + std::to_string(n) + " -v nb=" + std::to_string(r.blocks.size()) +
         " -v np=" + (r.ports.empty() ? "0" : "1") + " -v ports=" + shellQuote(ports) +
         " -v nf=" + std::to_string(flags) + " '" + std::string(kFileAwk) + fileExtrasAwk() + "'\n";
}

}  // namespace

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
    s += "printf 'B\\t%s\\n' " + shellQuote(b) + "; [ -r " + shellQuote(b) + " ] && awk '/^" +
         std::string(kBlockBegin) + "$/,/^" + std::string(kBlockEnd) +
         "$/ { print \"b\\t\" $0 }' " + shellQuote(b) + "\n";
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

StatusOr<ProbeResult> parseProbeOutput(const std::string& output) {
  std::istringstream in(output);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    return unavailable("unexpected probe output (is /bin/sh a POSIX shell?): " +
                       output.substr(0, 200));
  }
  ProbeResult r;
  std::string unit;
  UnitState unitState;
  std::string block;
  std::string contentPath;
  auto flushUnit = [&] {
    if (!unit.empty()) r.units[unit] = unitState;
    unit.clear();
    unitState = UnitState{};
  };
  auto unitLine = [&](const std::string& kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return;
    const std::string key = kv.substr(0, eq);
    const std::string value = kv.substr(eq + 1);
    if (key == "Id") {
      flushUnit();
      unit = value;
    } else if (key == "LoadState")
      unitState.loadState = value;
    else if (key == "ActiveState")
      unitState.activeState = value;
    else if (key == "SubState")
      unitState.subState = value;
    else if (key == "UnitFileState")
      unitState.unitFileState = value;
    else if (key == "ActiveEnterTimestampMonotonic")
      unitState.activeEnterTimestampMonotonic = value;
  };
  bool inSystemd = false;
  bool ended = false;
  while (std::getline(in, line)) {
    if (line == "END") {
      ended = true;
      break;
    }
    if (inSystemd && line.find('\t') == std::string::npos &&
        (line.empty() || line.find('=') != std::string::npos || line == "SYSTEMD-END")) {
      // systemctl show's own lines, KEY=VALUE, units separated by an empty line (a tagged line
      // has a tab, an untagged one no '=': none of these values has a tab).
      if (line == "SYSTEMD-END") {
        inSystemd = false;
      } else {
        unitLine(line);
      }
      continue;
    }
    const std::vector<std::string> f = splitTabs(line);
    const std::string& tag = f[0];
    if (tag == "F" && f.size() == 7) {
      FileState& st = r.files[f[1]];
      st.type = fileTypeFromStat(f[2]);
      std::from_chars(f[3].data(), f[3].data() + f[3].size(), st.mode, 8);
      st.owner = f[4];
      st.group = f[5];
      std::from_chars(f[6].data(), f[6].data() + f[6].size(), st.size);
    } else if (tag == "H" && f.size() >= 3) {
      r.files[line.substr(2 + f[1].size() + 1)].sha256 = f[1];
    } else if (tag == "SYSTEMD") {
      r.systemctlAvailable = true;
      inSystemd = true;
    } else if (tag == "U" && f.size() == 2) {
      unitLine(f[1]);
    } else if (tag == "B" && f.size() == 2) {
      block = f[1];
      r.blocks[block] = std::nullopt;
    } else if (tag == "b" && !block.empty()) {
      auto& content = r.blocks[block];
      content = content.value_or("") + line.substr(2) + "\n";
    } else if (tag == "C" && f.size() == 2) {
      contentPath = f[1];
      r.contents[contentPath].clear();
    } else if (tag == "c" && !contentPath.empty()) {
      r.contents[contentPath] += line.substr(2) + "\n";
    } else if (tag == "S" && f.size() >= 3) {
      r.sysctls[f[1]] = line.substr(2 + f[1].size() + 1);
    } else if (tag == "S-" && f.size() == 2) {
      r.sysctls[f[1]] = std::nullopt;
    } else if (tag == "M" && f.size() == 3) {
      r.modules[f[1]] = f[2] == "1";
    } else if (tag == "L" && f.size() >= 3) {
      r.heads[f[1]] = line.substr(2 + f[1].size() + 1);
    } else if (tag == "FV" && f.size() == 3) {
      r.binaryFlags[f[1]].version = f[2];
    } else if (tag == "FX" && f.size() == 3) {
      r.binaryFlags[f[1]].unknown.push_back(f[2]);
    } else if (tag == "O" && f.size() >= 2) {
      r.osRelease = line.substr(2);
    } else if (tag == "K" && f.size() >= 2) {
      r.kernel = line.substr(2);
    } else if (tag == "CMD" && f.size() == 3) {
      r.commands[f[1]] = f[2] == "1";
    } else if (tag == "SS") {
      r.listenersKnown = true;
    } else if (tag == "SS-") {
      r.ssMissing = true;
    } else if (tag == "SS!") {
      r.ssFailed = true;
    } else if (tag == "P" && f.size() == 5) {
      if (auto port = number(f[1]); port && *port > 0 && *port < 65536) {
        r.listeners.push_back({static_cast<int>(*port), f[2], f[3], f[4]});
      }
    } else if (tag == "SWAP" && f.size() == 2) {
      if (auto n = number(f[1])) r.swapOn = *n > 0;
    } else if (tag == "T" && f.size() == 2) {
      r.hostClockNs = clockNanoseconds(f[1]);
    }
  }
  flushUnit();
  if (!ended) return unavailable("probe output was cut short");
  for (auto& [path, state] : r.files) {
    if (state.type == FileType::kAbsent && !state.sha256.empty()) state.type = FileType::kFile;
  }
  return r;
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

StatusOr<std::map<std::string, std::string>> parseFetchOutput(const std::string& output) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < output.size()) {
    const size_t eol = output.find('\n', pos);
    if (eol == std::string::npos || output.compare(pos, 2, "C\t") != 0) {
      return internalError("malformed fetch output");
    }
    const std::string header = output.substr(pos + 2, eol - pos - 2);
    const size_t tab = header.find('\t');
    if (tab == std::string::npos) return internalError("malformed fetch header");
    size_t length = 0;
    std::from_chars(header.data(), header.data() + tab, length);
    if (eol + 1 + length > output.size()) return internalError("fetch output cut short");
    out[header.substr(tab + 1)] = output.substr(eol + 1, length);
    pos = eol + 1 + length;
  }
  return out;
}

}  // namespace kthw::runtime
