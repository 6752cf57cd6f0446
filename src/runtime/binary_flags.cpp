#include "runtime/binary_flags.h"

#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

// kthw_flags BINARY NAMES KEEP: prints the FV and FX lines. NAMES is newline-separated.
std::string flagsFunction(const std::string& cacheDir) {
  return std::string(
             "kthw_flags() {\n"
             "  b=$1; w=$2; keep=$3\n"
             "  [ -f \"$b\" ] && [ -x \"$b\" ] || return 0\n"
             "  c=") +
         shellQuote(cacheDir) +
         "/$(printf '%s' \"$b\" | sha256sum | cut -c1-32)\n"
         "  k=$(stat -L -c '%d:%i:%s:%.9Y:%.9Z' -- \"$b\")\n"
         "  if [ \"$(head -n 1 \"$c\" 2>/dev/null)\" = \"$k\" ]; then l=$c; else\n"
         "    l=$(mktemp)\n"
         "    { echo \"$k\"; printf '%s\\n' \"$(timeout 20 \"$b\" --version 2>/dev/null | head -n "
         "1)\"\n"
         "      timeout 20 \"$b\" --help 2>&1 | grep -oE -- '--[A-Za-z0-9][A-Za-z0-9_.-]*' | sort "
         "-u\n"
         "    } > \"$l\"\n"
         "  fi\n"
         "  printf 'FV\\t%s\\t%s\\n' \"$b\" \"$(sed -n 2p \"$l\" | cut -c1-120)\"\n"
         "  printf '%s\\n' \"$w\" | awk 'NR == FNR { if (FNR > 2) h[$0] = 1; next }"
         " $0 != \"\" && !((\"--\" $0) in h)' \"$l\" - | while IFS= read -r f; do\n"
         "    if timeout 20 \"$b\" \"--$f=\" --help 2>&1 | head -n 5 |"
         " grep -qiE 'unknown (flag|option)|provided but not defined|unrecognized'; then\n"
         "      printf 'FX\\t%s\\t%s\\n' \"$b\" \"$f\"\n"
         "    elif [ \"$l\" != \"$c\" ] || [ \"$keep\" = 1 ]; then echo \"--$f\" >> \"$l\"; fi\n"
         "  done\n"
         "  if [ \"$l\" != \"$c\" ]; then\n"
         "    if [ \"$keep\" = 1 ] && mkdir -p -m 0700 " +
         shellQuote(cacheDir) +
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

std::string flagProbeScript(const std::vector<FlagCheck>& checks, bool keepCache,
                            const std::string& cacheDir) {
  if (checks.empty()) return "";
  std::string s = flagsFunction(cacheDir);
  for (const FlagCheck& c : checks) s += callFor(shellQuote(c.binary), c, keepCache);
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
