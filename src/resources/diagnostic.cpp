#include "resources/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace kthw::resources {

const std::string& Mark::fileName() const {
  static const std::string kUnknown = "<input>";
  return file ? *file : kUnknown;
}

std::string Diagnostic::toString() const {
  std::string out =
      mark.fileName() + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string appendFieldPath(const std::string& path, std::string_view key) {
  const bool plain = !key.empty() && key.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-") == std::string_view::npos;
  if (!plain) return path + "[\"" + std::string(key) + "\"]";
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void sortDiagnostics(Diagnostics& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.mark.fileName(), a.mark.line, a.mark.column) <
                            std::tie(b.mark.fileName(), b.mark.line, b.mark.column);
                   });
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end(),
                                [](const Diagnostic& a, const Diagnostic& b) {
                                  return a.toString() == b.toString();
                                }),
                    diagnostics.end());
}

}  // namespace kthw::resources
