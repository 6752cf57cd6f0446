#include "resources/diagnostic.h"

#include <algorithm>
#include <string_view>
#include <tuple>

namespace kthw::resources {

const std::string& Mark::fileName() const {
  static const std::string kUnknown = "<input>";
  return file ? *file : kUnknown;
}

namespace {

constexpr size_t kMaxFileNameChars = 200;
constexpr size_t kMaxPathChars = 200;
constexpr size_t kMaxMessageChars = 500;

// Escapes control characters and cuts `text`; quotes and backslashes stay as they are when
// not `quoting`, so that text escaped once (by quoteValue) is not escaped again.
std::string escape(std::string_view text, size_t maxChars, bool quoting) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t cut = std::min(text.size(), maxChars);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;  // not inside a UTF-8 sequence
  }
  std::string out;
  out.reserve(cut + 8);
  for (const char ch : text.substr(0, cut)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else if (quoting && (c == '"' || c == '\\')) {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  if (cut < text.size()) out += "...";
  return out;
}

}  // namespace

std::string escapeValue(std::string_view value, size_t maxChars) {
  return escape(value, maxChars, true);
}

std::string quoteValue(std::string_view value, size_t maxChars) {
  return "\"" + escape(value, maxChars, true) + "\"";
}

std::string Diagnostic::toString(std::string_view label) const {
  std::string out = escape(mark.fileName(), kMaxFileNameChars, false) + ":";
  if (mark.line > 0) {
    out += std::to_string(mark.line) + ":" + std::to_string(mark.column) + ":";
  }
  out += " ";
  if (!label.empty()) out += std::string(label) + ": ";
  if (!path.empty()) out += escape(path, kMaxPathChars, false) + ": ";
  out += escape(message, kMaxMessageChars, false);
  return out;
}

std::vector<std::string> diagnosticLines(const Diagnostics& diagnostics, size_t omitted,
                                         size_t limit) {
  std::vector<std::string> lines;
  const size_t shown = std::min(diagnostics.size(), limit);
  lines.reserve(shown + 1);
  for (size_t i = 0; i < shown; ++i) lines.push_back(diagnostics[i].toString());
  const size_t more = diagnostics.size() - shown + omitted;
  if (more > 0) lines.push_back("and " + std::to_string(more) + " more error(s)");
  return lines;
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
