#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kthw::runtime {

// Shell-quotes one word with single quotes: the one quoting function for every shell word kthw
// composes, whatever runs it (a host's /bin/sh over SSH or locally).
std::string shellQuote(const std::string& word);
// Each item shell-quoted, each preceded by a space: a list of words to append to a command.
std::string quotedList(const std::vector<std::string>& items);

// The scripts' awks read a cache or a managed-block file only when the shell found a regular file
// there: a directory at such a path aborts mawk with a read error, and a FIFO blocks a read,
// losing every record after it either way. regularFilesScript sets kthw_rf to those of `paths`
// that are regular files, a line each ([ is a builtin: no process); an awk that includes
// kRegularAwk and gets kthw_rf in its environment asks regular(path) before each getline.
std::string regularFilesScript(const std::vector<std::string>& paths);
inline constexpr std::string_view kRegularAwk = R"AWK(
function regular(p,  n, i, a) {
  if (!rfseen) { rfseen = 1; n = split(ENVIRON["kthw_rf"], a, "\n"); for (i = 1; i <= n; i++) if (a[i] != "") rf[a[i]] = 1 }
  return p in rf
}
)AWK";
// A shell condition that holds when a cache may be written at `quotedPath` (a shell word): a
// regular file or nothing is there. A directory there would take the file in instead.
std::string cacheWritable(const std::string& quotedPath);

}  // namespace kthw::runtime
