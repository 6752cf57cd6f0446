#include "resources/yaml_recovery.h"

#include <string>
#include <unordered_map>
#include <utility>

namespace kthw::resources {
namespace {

// A run of top-level keys without a repeat, and where the key that starts it was first seen.
struct Run {
  size_t start = 0;
  int firstLine = 0;
};

bool declaresApiVersionAndKind(const Node& root, size_t begin, size_t end) {
  bool apiVersion = false;
  bool kind = false;
  for (size_t i = begin; i < end; ++i) {
    apiVersion = apiVersion || root.entries[i].key == "apiVersion";
    kind = kind || root.entries[i].key == "kind";
  }
  return apiVersion && kind;
}

Diagnostic repeated(const MapEntry& e, int firstLine, const std::string& hint) {
  return Diagnostic{e.keyMark, appendFieldPath("", escapeValue(e.key)),
                    "duplicate key " + quoteValue(e.key) + " (first at line " +
                        std::to_string(firstLine) + ")" + hint};
}

std::vector<Node> splitRuns(Node root, const std::vector<Run>& runs,
                            const std::function<void(Diagnostic)>& report) {
  std::vector<Node> out;
  for (size_t r = 0; r < runs.size(); ++r) {
    const size_t end = r + 1 < runs.size() ? runs[r + 1].start : root.entries.size();
    Node doc;
    doc.type = NodeType::kMapping;
    doc.mark = r == 0 ? root.mark : root.entries[runs[r].start].keyMark;
    if (r > 0) {
      report(repeated(root.entries[runs[r].start], runs[r].firstLine,
                      ": a \"---\" line is probably missing here; read as the start of a new "
                      "document"));
    }
    for (size_t i = runs[r].start; i < end; ++i) doc.entries.push_back(std::move(root.entries[i]));
    out.push_back(std::move(doc));
  }
  return out;
}

Node keepFirstValues(Node root, const std::function<void(Diagnostic)>& report) {
  std::unordered_map<std::string, int> lines;
  std::vector<MapEntry> kept;
  for (MapEntry& e : root.entries) {
    auto [first, inserted] = lines.emplace(e.key, e.keyMark.line);
    if (inserted) {
      kept.push_back(std::move(e));
    } else {
      report(repeated(e, first->second,
                      "; if a new document starts here, a \"---\" line is missing before it"));
    }
  }
  root.entries = std::move(kept);
  return root;
}

}  // namespace

std::vector<Node> splitAtRepeatedKeys(Node root, const std::function<void(Diagnostic)>& report) {
  std::vector<Node> out;
  std::vector<Run> runs = {Run{}};
  if (root.isMapping()) {
    std::unordered_map<std::string, int> inRun;  // key -> its line, in the current run
    for (size_t i = 0; i < root.entries.size(); ++i) {
      const MapEntry& e = root.entries[i];
      if (auto it = inRun.find(e.key); it != inRun.end()) {
        runs.push_back(Run{i, it->second});
        inRun.clear();
      }
      inRun.emplace(e.key, e.keyMark.line);
    }
  }
  if (runs.size() == 1) {
    out.push_back(std::move(root));
    return out;
  }
  bool joined = true;
  for (size_t r = 0; r < runs.size() && joined; ++r) {
    const size_t end = r + 1 < runs.size() ? runs[r + 1].start : root.entries.size();
    joined = declaresApiVersionAndKind(root, runs[r].start, end);
  }
  if (joined) return splitRuns(std::move(root), runs, report);
  out.push_back(keepFirstValues(std::move(root), report));
  return out;
}

UnreadDocuments scanUnread(std::string_view text, Mark at) {
  UnreadDocuments out{std::move(at), {}, false};
  bool content = false;
  bool kind = false;
  auto endDocument = [&] {
    if (content && !kind) out.unknownKinds = true;
    content = kind = false;
  };
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("---")) {
      endDocument();
      continue;
    }
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    content = true;
    if (!line.starts_with("kind:")) continue;
    std::string_view value = line.substr(5);
    value = value.substr(0, value.find(" #"));
    const size_t b = value.find_first_not_of(" \t\"'");
    const size_t e = value.find_last_not_of(" \t\r\"'");
    if (b == std::string_view::npos || e < b) continue;
    out.kinds.emplace_back(value.substr(b, e - b + 1));
    kind = true;
  }
  endDocument();
  return out;
}

}  // namespace kthw::resources
