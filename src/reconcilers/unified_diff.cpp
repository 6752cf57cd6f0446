#include "reconcilers/unified_diff.h"

#include <algorithm>
#include <sstream>
#include <vector>

namespace kthw::reconcilers {
namespace {

constexpr size_t kMaxLines = 2000;
constexpr int kContext = 3;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

struct Edit {
  char op;   // ' ', '-', '+'
  size_t a;  // index in before (for ' ' and '-')
  size_t b;  // index in after (for ' ' and '+')
};

// Longest-common-subsequence edit script; O(n*m), bounded by kMaxLines.
std::vector<Edit> editScript(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<uint16_t>> lcs(n + 1, std::vector<uint16_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? static_cast<uint16_t>(lcs[i + 1][j + 1] + 1)
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Edit> edits;
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', i++, j});
    } else {
      edits.push_back({'+', i, j++});
    }
  }
  return edits;
}

}  // namespace

std::string unifiedDiff(const std::string& before, const std::string& after,
                        const std::string& label) {
  const auto a = lines(before);
  const auto b = lines(after);
  if (a.size() > kMaxLines || b.size() > kMaxLines) {
    return "--- " + label + "\n+++ " + label + "\n(" + std::to_string(a.size()) + " -> " +
           std::to_string(b.size()) + " lines; too large to show)\n";
  }
  const auto edits = editScript(a, b);
  std::string out = "--- " + label + " (on host)\n+++ " + label + " (desired)\n";
  size_t k = 0;
  while (k < edits.size()) {
    while (k < edits.size() && edits[k].op == ' ') ++k;
    if (k == edits.size()) break;
    // A hunk: from kContext lines before this change to kContext lines after the last change
    // that is within 2*kContext of the previous one.
    size_t start = k >= static_cast<size_t>(kContext) ? k - kContext : 0;
    size_t end = k;
    size_t lastChange = k;
    while (end < edits.size()) {
      if (edits[end].op != ' ') lastChange = end;
      if (end - lastChange > 2 * static_cast<size_t>(kContext)) break;
      ++end;
    }
    end = std::min(edits.size(), lastChange + kContext + 1);
    size_t aCount = 0;
    size_t bCount = 0;
    for (size_t e = start; e < end; ++e) {
      if (edits[e].op != '+') ++aCount;
      if (edits[e].op != '-') ++bCount;
    }
    const size_t aStart = edits[start].a + (aCount > 0 ? 1 : 0);
    const size_t bStart = edits[start].b + (bCount > 0 ? 1 : 0);
    out += "@@ -" + std::to_string(aStart) + "," + std::to_string(aCount) + " +" +
           std::to_string(bStart) + "," + std::to_string(bCount) + " @@\n";
    for (size_t e = start; e < end; ++e) {
      const Edit& ed = edits[e];
      out += ed.op;
      out += ed.op == '+' ? b[ed.b] : a[ed.a];
      out += "\n";
    }
    k = end;
  }
  return out;
}

}  // namespace kthw::reconcilers
