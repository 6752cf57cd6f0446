#include "runtime/shell.h"

namespace kthw::runtime {

std::string shellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string quotedList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += " " + shellQuote(i);
  return out;
}

std::string regularFilesScript(const std::vector<std::string>& paths) {
  return "kthw_rf=; for kthw_f in" + quotedList(paths) +
         "; do [ -f \"$kthw_f\" ] && kthw_rf=\"$kthw_rf$kthw_f\n\"; done\n";
}

std::string cacheWritable(const std::string& quotedPath) {
  return "{ [ -f " + quotedPath + " ] || [ ! -e " + quotedPath + " ]; }";
}

}  // namespace kthw::runtime
