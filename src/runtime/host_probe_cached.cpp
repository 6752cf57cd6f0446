// Probe records served from host-side caches (hashes, listeners, flags): the awks and scripts.
#include <string>
#include <string_view>
#include <vector>

#include "runtime/binary_flags_cache.h"
#include "runtime/host_probe.h"
#include "runtime/host_probe_internal.h"
#include "runtime/shell.h"

namespace kthw::runtime::probe_internal {
namespace {

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
  if (regular(cache)) while ((getline l < cache) > 0) {
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
    w = "(mkdir -p -m 0700 " q(ENVIRON["kthw_hd"]) " && { [ -f " q(cache) " ] || [ ! -e " q(cache) " ]; } && umask 077 && t=" q(cache) ".tmp.$$ && cat > \"$t\" && mv -f \"$t\" " q(cache) ") 2>/dev/null; cat > /dev/null"
    printf "%s", new | w
    close(w)
  }
}
)AWK";

// Shared by the listener awks: the process name (comm), its start time (clock ticks since boot)
// and the systemd unit of a pid: the last component of its cgroup path (etcd.service,
// session-3.scope).
constexpr std::string_view kProcAwk = R"AWK(
function bootid(  f, l) { f = "/proc/sys/kernel/random/boot_id"; l = ""; getline l < f; close(f); return l }
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
// path below wrote, trusted only in the boot it was written in (its boot line, the kernel's
// boot_id: pids and start times begin again at a reboot). Any socket the cache does not know, or
// whose process is gone (or is another one now), exits 1: ss is asked then, as it is when no asked
// port is listened on (so that an ss that fails is still reported). A socket inode is never reused
// while the socket lives.
constexpr std::string_view kListenerFnAwk = R"AWK(
function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return v }
function cachedListeners(  cache, cp, cs, l, a, n, boot, x, f, t, first, ok, out, port, ino, found) {
  cache = ENVIRON["kthw_lc"]; boot = ""
  if (regular(cache)) while ((getline l < cache) > 0) {
    n = split(l, a, "\t")
    if (n == 3) { cp[a[1]] = a[2]; cs[a[1]] = a[3] } else if (n == 2 && a[1] == "boot") boot = a[2]
  }
  close(cache)
  if (boot == "" || boot != bootid()) return ""
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
  if (upd && regular(cache)) {
    while ((getline l < cache) > 0) old = old l "\n"
    close(cache)
  }
  if (upd) new = "boot\t" bootid() "\n" new
  if (upd && new != old) {
    fflush()
    w = "(mkdir -p -m 0700 " q(ENVIRON["kthw_hd"]) " && { [ -f " q(cache) " ] || [ ! -e " q(cache) " ]; } && umask 077 && t=" q(cache) ".tmp.$$ && cat > \"$t\" && mv -f \"$t\" " q(cache) ") 2>/dev/null; cat > /dev/null"
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
         "printf '%s\\n' \"$kthw_ss\" | kthw_rf=\"$kthw_rf\" kthw_lc=" +
         shellQuote(dir + "/listeners") + " kthw_hd=" + shellQuote(dir) +
         " awk -v ports=" + shellQuote(ports) + " -v upd=" + (r.updateHashCache ? "1" : "0") +
         " '" + std::string(kRegularAwk) + std::string(kProcAwk) + std::string(kSsAwk) +
         "'; else printf 'SS!\\n'; fi\n";
}

// More of the file awk (see fileRecords): the managed blocks, the listeners (from the listener
// cache, else ss as before) and the flag checks of binaries among the paths (from their cached
// flag lists, else kthw_flags as before), so that none of them costs a process of its own.
std::string fileExtrasAwk() {
  return std::string(kProcAwk) + std::string(kListenerFnAwk) + R"AWK(
function flagsCached(i, p,  c, l, ver, h, w, m, j, hit) {
  c = ENVIRON["kthw_fc" i]; hit = 0; ver = ""
  if (regular(c) && (getline l < c) > 0 && l == fk[p]) {
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
$3 ~ /^regular/ { fk[$2] = ")AWK" +
         std::string(kFlagListFormat) + R"AWK(" $11 ":" $8 ":" $7 ":" $12 ":" $13 }
END {
  for (i = 1; i <= nb; i++) {
    p = ENVIRON["kthw_b" i]; print "B\t" p; inb = 0
    while (regular(p) && (getline l < p) > 0) {
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

}  // namespace

// The listener of each asked port (see kListenerFnAwk and kSsAwk). SS only when ss
// succeeded: an ss that fails (no -H before iproute2 4.14, no netlink) must not read as
// "nothing listens".
std::string portRecords(const ProbeRequest& r) {
  std::string ports = " ";
  for (int p : r.ports) ports += std::to_string(p) + " ";
  const std::string dir = r.hashCache.substr(0, r.hashCache.rfind('/'));
  const std::string env = "kthw_rf=\"$kthw_rf\" kthw_lc=" + shellQuote(dir + "/listeners") +
                          " kthw_hd=" + shellQuote(dir) + " ";
  return regularFilesScript({dir + "/listeners"}) +
         "if ! command -v ss >/dev/null 2>&1; then printf 'SS-\\n'; "
         "elif kthw_p=$(" +
         env + "awk -v ports=" + shellQuote(ports) + " '" + std::string(kRegularAwk) +
         std::string(kProcAwk) + std::string(kListenerFnAwk) + std::string(kListenerCacheAwk) +
         "'); then printf '%s\\n' \"$kthw_p\"; else " + ssScript(r) + "fi\n";
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
  std::vector<std::string> read = {r.hashCache};  // the files awk reads beside the stat lines
  read.insert(read.end(), r.blocks.begin(), r.blocks.end());
  std::string pre;
  std::string ports = " ";
  if (!r.ports.empty()) {
    read.push_back(dir + "/listeners");
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
           shellQuote(read.emplace_back(flagCacheFile(c.binary, dir + "/flags"))) + " kthw_fw" + i +
           "=" + shellQuote(wanted) + " kthw_fx" + i + "=" +
           shellQuote(flagCheckScript(c, r.updateHashCache, dir + "/flags")) + " ";
  }
  // The flag lists' key fields (device, and mtime and ctime as kthw_flags prints them) only when
  // a flag check needs them: the format stays the one every probe used before otherwise.
  env += "kthw_rf=\"$kthw_rf\" ";
  return regularFilesScript(read) + pre + "stat -c 'F\t%n\t%F\t%a\t%U\t%G\t%s\t%i\t%y\t%z" +
         (flags > 0 ? "\t%d\t%.9Y\t%.9Z" : "") + "' --" + quotedList(r.paths) + " 2>/dev/null | " +
         env + "awk -F'\t' -v upd=" + (r.updateHashCache ? "1" : "0") +
         " -v nc=" + std::to_string(n) + " -v nb=" + std::to_string(r.blocks.size()) +
         " -v np=" + (r.ports.empty() ? "0" : "1") + " -v ports=" + shellQuote(ports) +
         " -v nf=" + std::to_string(flags) + " '" + std::string(kRegularAwk) +
         std::string(kFileAwk) + fileExtrasAwk() + "'\n";
}

}  // namespace kthw::runtime::probe_internal
