#include "runtime/host_files.h"

#include <cstdio>

#include "runtime/host_probe.h"
#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

std::string preconditionCheck(const std::optional<std::string>& ifCurrentSha256) {
  if (!ifCurrentSha256) return "";
  return "c=''; [ -f \"$p\" ] && c=$(sha256sum < \"$p\" | cut -d' ' -f1)\n"
         "if [ \"$c\" != " +
         shellQuote(*ifCurrentSha256) +
         " ]; then echo \"$p changed on the host since it was read\" >&2; exit " +
         std::to_string(kExitPreconditionFailed) + "; fi\n";
}

}  // namespace

std::string formatMode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string atomicWriteScript(const FileSpec& file, const std::string& contentSha256,
                              size_t contentSize,
                              const std::optional<std::string>& ifCurrentSha256) {
  const std::string p = shellQuote(file.path);
  std::string s =
      "set -e\n"
      "p=" +
      p +
      "\n"
      "d=$(dirname -- \"$p\"); b=$(basename -- \"$p\")\n"
      "mkdir -p -- \"$d\"\n"
      "rm -f -- \"$d/.$b.kthw-tmp.\"*\n"
      "t=$(mktemp -- \"$d/.$b.kthw-tmp.XXXXXX\")\n"
      "trap 'rm -f -- \"$t\"' EXIT\n"
      "cat > \"$t\"\n"
      "if [ \"$(wc -c < \"$t\")\" != " +
      std::to_string(contentSize) +
      " ] || [ \"$(sha256sum < \"$t\" | cut -d' ' -f1)\" != " + shellQuote(contentSha256) +
      " ]; then echo 'content arrived incomplete' >&2; exit " +
      std::to_string(kExitContentMismatch) +
      "; fi\n"
      "chown " +
      shellQuote(file.owner + ":" + file.group) +
      " -- \"$t\"\n"
      "chmod " +
      formatMode(file.mode) +
      " -- \"$t\"\n"
      "sync -- \"$t\" 2>/dev/null || sync\n";
  if (!file.check.empty()) {
    s += "if ! o=$( (" + file.check + ") 2>&1); then printf '%s\\n' \"$o\" >&2; exit " +
         std::to_string(kExitCheckFailed) + "; fi\n";
  }
  s += preconditionCheck(ifCurrentSha256);
  s += "mv -f -- \"$t\" \"$p\"\n"
       "trap - EXIT\n"
       "sync -- \"$d\" 2>/dev/null || true\n";
  return s;
}

std::string replaceBlockScript(const std::string& path, const std::string& blockSha256,
                               size_t blockSize,
                               const std::optional<std::string>& ifCurrentSha256) {
  const std::string begin = kBlockBegin;
  const std::string end = kBlockEnd;
  std::string s =
      "set -e\n"
      "p=" +
      shellQuote(path) +
      "\n"
      "d=$(dirname -- \"$p\"); b=$(basename -- \"$p\")\n"
      "rm -f -- \"$d/.$b.kthw-tmp.\"*\n"
      "n=$(mktemp -- \"$d/.$b.kthw-tmp.XXXXXX\")\n"
      "t=$(mktemp -- \"$d/.$b.kthw-tmp.XXXXXX\")\n"
      "trap 'rm -f -- \"$t\" \"$n\"' EXIT\n"
      "cat > \"$n\"\n"
      "if [ \"$(wc -c < \"$n\")\" != " +
      std::to_string(blockSize) +
      " ] || [ \"$(sha256sum < \"$n\" | cut -d' ' -f1)\" != " + shellQuote(blockSha256) +
      " ]; then echo 'content arrived incomplete' >&2; exit " +
      std::to_string(kExitContentMismatch) + "; fi\n" + preconditionCheck(ifCurrentSha256) +
      // The block keeps its place: lines after it stay after it, because in files such as
      // /etc/hosts the first match wins. Only a file without a block gets it at the end. A
      // second copy of the block (made by hand) is dropped, as the probe reads both as one.
      "l=''\n"
      "[ -f \"$p\" ] && l=$(grep -n -x -F -e " +
      shellQuote(begin) +
      " -- \"$p\" | head -n 1 | cut -d: -f1)\n"
      "if [ -n \"$l\" ]; then\n"
      "  sed -e \"${l}r $n\" -e \"${l},/^" +
      end + "\\$/d\" -e '/^" + begin + "$/,/^" + end +
      "$/d' -- \"$p\" > \"$t\"\n"
      "elif [ -f \"$p\" ]; then\n"
      "  cat -- \"$p\" > \"$t\"\n"
      // A last line without its newline must not run into the block's first line.
      "  if [ -s \"$t\" ] && [ -s \"$n\" ] && [ -n \"$(tail -c 1 -- \"$t\")\" ]; then echo >> "
      "\"$t\"; fi\n"
      "  cat -- \"$n\" >> \"$t\"\n"
      "else\n"
      "  cat -- \"$n\" > \"$t\"\n"
      "fi\n"
      "if [ -f \"$p\" ]; then\n"
      "  chown --reference=\"$p\" -- \"$t\"; chmod --reference=\"$p\" -- \"$t\"\n"
      "else\n"
      "  chmod 0644 -- \"$t\"\n"
      "fi\n"
      "sync -- \"$t\" 2>/dev/null || sync\n"
      "mv -f -- \"$t\" \"$p\"\n"
      "sync -- \"$d\" 2>/dev/null || true\n";
  return s;
}

std::string removeFileScript(const std::string& path) {
  return "rm -f -- " + shellQuote(path) + "\n";
}

std::string ensureDirectoryScript(const FileSpec& dir) {
  const std::string p = shellQuote(dir.path);
  return "set -e\nmkdir -p -- " + p + "\nchown " + shellQuote(dir.owner + ":" + dir.group) +
         " -- " + p + "\nchmod " + formatMode(dir.mode) + " -- " + p + "\n";
}

}  // namespace kthw::runtime
