#include "runtime/binary_flags.h"

#include "runtime/binary_flags_cache.h"
#include "runtime/digest.h"
#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

// kthw_flags BINARY NAMES KEEP: prints the FV and FX lines. NAMES is newline-separated.
// Every run of a binary (kthw_run) has kFlagRunSeconds. A run that times out (exit 124) answers
// nothing: its flag is not reported, the list is not kept (the "#timeout" line marks it; no flag
// matches it, they all start with "--"), and the script's later runs are skipped (kthw_slow), so
// a host whose binaries hang still answers within its command deadline. The next pass asks again.
// Lists start with a key line, kFlagListFormat before the binary's stat key: lists of an older
// format, which could keep a timed-out answer, are never read.
constexpr int kFlagRunSeconds = 30;

std::string flagsFunction(const std::string& cacheDir) {
  return std::string(
             "kthw_slow=\n"
             "kthw_run() { [ -z \"$kthw_slow\" ] || return 124; timeout " +
             std::to_string(kFlagRunSeconds) +
             " \"$@\" </dev/null; }\n"
             "kthw_flags() {\n"
             "  b=$1; w=$2; keep=$3\n"
             "  [ -f \"$b\" ] && [ -x \"$b\" ] || return 0\n"
             "  c=") +
         shellQuote(cacheDir) +
         "/$(printf '%s' \"$b\" | sha256sum | cut -c1-32)\n"
         "  k=" +
         std::string(kFlagListFormat) +
         "$(stat -L -c '%d:%i:%s:%.9Y:%.9Z' -- \"$b\")\n"
         "  if [ -f \"$c\" ] && [ \"$(head -n 1 \"$c\" 2>/dev/null)\" = \"$k\" ]; then l=$c; "
         "else\n"
         "    l=$(mktemp)\n"
         "    vs=0; v=$(kthw_run \"$b\" --version 2>/dev/null) || vs=$?\n"
         "    hs=0; h=$(kthw_run \"$b\" --help 2>&1) || hs=$?\n"
         "    { echo \"$k\"; printf '%s\\n' \"$v\" | head -n 1\n"
         "      printf '%s\\n' \"$h\" | grep -oE -- '--[A-Za-z0-9][A-Za-z0-9_.-]*' | sort -u\n"
         "    } > \"$l\"\n"
         "    if [ \"$vs\" = 124 ] || [ \"$hs\" = 124 ]; then echo '#timeout' >> \"$l\"; fi\n"
         "  fi\n"
         "  printf 'FV\\t%s\\t%s\\n' \"$b\" \"$(sed -n 2p \"$l\" | cut -c1-120)\"\n"
         "  grep -qx '#timeout' \"$l\" || printf '%s\\n' \"$w\" |"
         " awk 'NR == FNR { if (FNR > 2) h[$0] = 1; next }"
         " $0 != \"\" && !((\"--\" $0) in h)' \"$l\" - | while IFS= read -r f; do\n"
         "    s=0; o=$(kthw_run \"$b\" \"--$f=\" --help 2>&1) || s=$?\n"
         "    if [ \"$s\" = 124 ]; then [ \"$l\" = \"$c\" ] || echo '#timeout' >> \"$l\"; break\n"
         "    elif printf '%s\\n' \"$o\" | head -n 5 |"
         " grep -qiE 'unknown (flag|option)|provided but not defined|unrecognized'; then\n"
         "      printf 'FX\\t%s\\t%s\\n' \"$b\" \"$f\"\n"
         "    elif [ \"$l\" != \"$c\" ] || [ \"$keep\" = 1 ]; then echo \"--$f\" >> \"$l\"; fi\n"
         "  done\n"
         "  if [ \"$l\" != \"$c\" ]; then\n"
         "    if grep -qx '#timeout' \"$l\"; then kthw_slow=1; fi\n"
         "    if [ \"$keep\" = 1 ] && [ -z \"$kthw_slow\" ] && mkdir -p -m 0700 " +
         shellQuote(cacheDir) + " && " + cacheWritable("\"$c\"") +
         "; then mv -f \"$l\" \"$c\"; else rm -f \"$l\"; fi\n"
         "  fi\n"
         "}\n";
}

std::string joinLines(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += n + "\n";
  return out;
}

// One call of kthw_flags; `binaryWord` is the shell word naming the binary.
std::string callFor(const std::string& binaryWord, const FlagCheck& c, bool keep) {
  return "kthw_flags " + binaryWord + " " + shellQuote(joinLines(c.flags)) + (keep ? " 1" : " 0") +
         "\n";
}

}  // namespace

// The common case without kthw_flags' dozen processes per binary: one stat and one awk for all
// binaries print FV for each whose cached list (kthw_flags' file, named by the sha256 of the path)
// has the binary's current key and holds every flag asked; for any other (absent ones too) the
// awk prints "FM\t<i>\t" and kthw_flags runs for it as before. Fields of the stat lines: key,
// type, path.
constexpr std::string_view kFlagAwk = R"AWK(
BEGIN { FS = "\t"; for (i = 1; i <= n; i++) idx[ENVIRON["kthw_fb" i]] = i }
{
  p = substr($0, length($1) + length($2) + 3)
  if (!(p in idx)) next
  i = idx[p]; seen[i] = 1; hit = 0; ver = ""; split("", h)
  if ($2 ~ /^regular/) {
    c = ENVIRON["kthw_fc" i]
    if (regular(c) && (getline l < c) > 0 && l == ENVIRON["kthw_ff"] $1) {
      hit = 1
      if ((getline ver < c) <= 0) ver = ""
      while ((getline l < c) > 0) h[l] = 1
    }
    close(c)
  }
  if (hit) {
    m = split(ENVIRON["kthw_fw" i], w, "\n")
    for (j = 1; j <= m; j++) if (w[j] != "" && !(("--" w[j]) in h)) hit = 0
  }
  if (hit) print "FV\t" p "\t" substr(ver, 1, 120); else print "FM\t" i "\t"
}
END { for (i = 1; i <= n; i++) if (!(i in seen)) print "FM\t" i "\t" }
)AWK";

std::string flagCacheFile(const std::string& binary, const std::string& cacheDir) {
  return cacheDir + "/" + sha256Hex(binary).substr(0, 32);
}

std::string flagCheckScript(const FlagCheck& check, bool keepCache, const std::string& cacheDir) {
  return flagsFunction(cacheDir) + callFor(shellQuote(check.binary), check, keepCache);
}

std::string flagProbeScript(const std::vector<FlagCheck>& checks, bool keepCache,
                            const std::string& cacheDir) {
  if (checks.empty()) return "";
  std::string s = flagsFunction(cacheDir);
  std::string paths;
  std::string env =
      "kthw_rf=\"$kthw_rf\" kthw_ff=" + shellQuote(std::string(kFlagListFormat)) + " ";
  std::vector<std::string> caches;
  for (size_t i = 0; i < checks.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    paths += " " + shellQuote(checks[i].binary);
    caches.push_back(flagCacheFile(checks[i].binary, cacheDir));
    env += "kthw_fb" + n + "=" + shellQuote(checks[i].binary) + " kthw_fc" + n + "=" +
           shellQuote(caches.back()) + " kthw_fw" + n + "=" +
           shellQuote(joinLines(checks[i].flags)) + " ";
  }
  s += regularFilesScript(caches) + "kthw_fo=$(stat -L -c '%d:%i:%s:%.9Y:%.9Z\t%F\t%n' --" + paths +
       " 2>/dev/null | " + env + "awk -v n=" + std::to_string(checks.size()) + " '" +
       std::string(kRegularAwk) + std::string(kFlagAwk) + "')\nprintf '%s\\n' \"$kthw_fo\"\n";
  for (size_t i = 0; i < checks.size(); ++i) {
    s += "case \"$kthw_fo\" in *\"FM\t" + std::to_string(i + 1) + "\t\"*) " +
         callFor(shellQuote(checks[i].binary), checks[i], keepCache) + ";; esac\n";
  }
  return s;
}

std::string flagWriteCheck(const FlagCheck& check, const std::string& binaryWord,
                           const std::string& cacheDir) {
  const std::string word = binaryWord.empty() ? shellQuote(check.binary) : binaryWord;
  const bool temporary = !binaryWord.empty();
  return flagsFunction(cacheDir) + "[ -x " + word +
         " ] || { printf 'error: %s is not installed\\n' " + shellQuote(check.binary) +
         "; exit 1; }\n" + "o=$(" + callFor(word, check, !temporary) +
         ")\n"
         "u=$(printf '%s\\n' \"$o\" | awk -F'\\t' '$1 == \"FX\" { printf \"%s--%s\", s, $3; s = "
         "\", \" }')\n"
         "v=$(printf '%s\\n' \"$o\" | awk -F'\\t' '$1 == \"FV\" { print $3 }')\n"
         "if [ -n \"$u\" ]; then printf 'error: flag %s not accepted by %s%s\\n' \"$u\" " +
         shellQuote(check.binary) + " \"${v:+ ($v)}\"; exit 1; fi\n";
}

std::string describeUnknownFlags(const std::string& binary, const BinaryFlags& flags) {
  std::string names;
  for (const std::string& f : flags.unknown) names += (names.empty() ? "--" : ", --") + f;
  return "flag " + names + (flags.unknown.size() == 1 ? " is" : " are") + " not accepted by " +
         binary + (flags.version.empty() ? "" : " (" + flags.version + ")");
}

}  // namespace kthw::runtime
