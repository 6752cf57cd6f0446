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

std::string regularFilesScript(const std::vector<std::string>& paths) {
  std::string words;
  for (const std::string& p : paths) words += " " + shellQuote(p);
  return "kthw_rf=; for kthw_f in" + words +
         "; do [ -f \"$kthw_f\" ] && kthw_rf=\"$kthw_rf$kthw_f\n\"; done\n";
}

std::string cacheWritable(const std::string& quotedPath) {
  return "{ [ -f " + quotedPath + " ] || [ ! -e " + quotedPath + " ]; }";
}

}  // namespace kthw::runtime
