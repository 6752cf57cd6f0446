#include "runtime/host_files.h"

#include <cstdio>

#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

}  // namespace

std::string atomicWriteScript(const FileSpec& file, const std::string& contentSha256,
                              size_t contentSize,
                              const std::optional<std::string>& ifCurrentSha256) {
  const std::string p = shellQuote(file.path);
  std::string s =
      "set -e\n"
      "p=" + p + "\n"
      "d=$(dirname -- \"$p\"); b=$(basename -- \"$p\")\n"
      "mkdir -p -- \"$d\"\n"
      "rm -f -- \"$d/.$b.kthw-tmp.\"*\n"
      "t=$(mktemp -- \"$d/.$b.kthw-tmp.XXXXXX\")\n"
      "trap 'rm -f -- \"$t\"' EXIT\n"
      "cat > \"$t\"\n"
      "if [ \"$(wc -c < \"$t\")\" != " + std::to_string(contentSize) +
      " ] || [ \"$(sha256sum < \"$t\" | cut -d' ' -f1)\" != " + shellQuote(contentSha256) +
      " ]; then echo 'content arrived incomplete' >&2; exit " +
      std::to_string(kExitContentMismatch) + "; fi\n"
      "chown " + shellQuote(file.owner + ":" + file.group) + " -- \"$t\"\n"
      "chmod " + octal(file.mode) + " -- \"$t\"\n"
      "sync -- \"$t\" 2>/dev/null || sync\n";
  if (ifCurrentSha256) {
    s += "c=''; [ -f \"$p\" ] && c=$(sha256sum < \"$p\" | cut -d' ' -f1)\n"
         "if [ \"$c\" != " + shellQuote(*ifCurrentSha256) +
         " ]; then echo \"$p changed on the host since it was read\" >&2; exit " +
         std::to_string(kExitPreconditionFailed) + "; fi\n";
  }
  s += "mv -f -- \"$t\" \"$p\"\n"
       "trap - EXIT\n"
       "sync -- \"$d\" 2>/dev/null || true\n";
  return s;
}

std::string removeFileScript(const std::string& path) {
  return "rm -f -- " + shellQuote(path) + "\n";
}

std::string ensureDirectoryScript(const FileSpec& dir) {
  const std::string p = shellQuote(dir.path);
  return "set -e\nmkdir -p -- " + p + "\nchown " + shellQuote(dir.owner + ":" + dir.group) +
         " -- " + p + "\nchmod " + octal(dir.mode) + " -- " + p + "\n";
}

}  // namespace kthw::runtime
