#include "resources/yaml_loader.h"

#include <yaml.h>

#include <memory>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "resources/yaml_parse.h"
#include "resources/yaml_recovery.h"

namespace kthw::resources {
namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

struct Frame {
  Node node;
  std::optional<std::pair<std::string, Mark>> pendingKey;
  std::unordered_map<std::string, int> keyLines;  // a mapping's keys, and the line of each
};

// Builds node trees from libyaml events with an explicit stack, so deep input cannot overflow
// the C++ stack.
class TreeBuilder {
 public:
  TreeBuilder(std::shared_ptr<const std::string> file, std::string_view text,
              const LoadLimits& limits, LoadResult& result)
      : file_(std::move(file)), text_(text), limits_(limits), result_(result) {}

  // Returns false when parsing of this buffer must stop.
  bool handle(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        documentMark_ = markOf(event.start_mark);
        unreadFrom_ = event.start_mark.index;
        root_.reset();
        return true;
      case YAML_DOCUMENT_END_EVENT:
        if (!finishDocument()) return false;
        unreadFrom_ = event.end_mark.index;
        return true;
      case YAML_SCALAR_EVENT:
        return scalar(event);
      case YAML_ALIAS_EVENT:
        // Never expanded: refused where it stands, at the cost of one value.
        if (!countNode(event.start_mark)) return false;
        error(event.start_mark, "YAML aliases are not supported; write the value out");
        return attach(erroneousNode(event.start_mark));
      case YAML_SEQUENCE_START_EVENT:
        return open(event, NodeType::kSequence,
                    reinterpret_cast<const char*>(event.data.sequence_start.tag));
      case YAML_MAPPING_START_EVENT:
        return open(event, NodeType::kMapping,
                    reinterpret_cast<const char*>(event.data.mapping_start.tag));
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        return close();
      default:
        return true;
    }
  }

  Mark markOf(const yaml_mark_t& m) const {
    return Mark{file_, static_cast<int>(m.line) + 1, static_cast<int>(m.column) + 1};
  }

  void error(const yaml_mark_t& m, std::string message) {
    if (recording()) fatal(m, std::move(message));
  }

  // An error that stops reading is kept however many came before it: it explains the rest.
  void fatal(const yaml_mark_t& m, std::string message) {
    std::string path = currentPath();
    if (path.size() > 80) path = path.substr(0, 80) + "...";
    result_.errors.push_back(Diagnostic{markOf(m), std::move(path), std::move(message)});
  }

  // Reading stopped before the end of the text: the document under way and the rest are lost.
  void stoppedAt(const yaml_mark_t& m) {
    const std::string_view rest = unreadFrom_ < text_.size() ? text_.substr(unreadFrom_) : "";
    result_.unread.push_back(scanUnread(rest, markOf(m)));
  }

  // Whether one more error is kept; past the limit it is counted instead, before anything
  // about it is formatted, so a flood of errors costs constant time each.
  bool recording() {
    if (result_.errors.size() < limits_.maxRecordedErrors) return true;
    ++result_.omittedErrors;
    return false;
  }

 private:
  Node erroneousNode(const yaml_mark_t& m) const {
    Node n;
    n.mark = markOf(m);
    n.erroneous = true;
    return n;
  }

  // The field path of the value being read, e.g. spec.etcHosts[2].ip.
  std::string currentPath() const {
    std::string path;
    for (const Frame& f : stack_) {
      if (f.node.type == NodeType::kSequence) {
        path += "[" + std::to_string(f.node.items.size()) + "]";
      } else if (f.pendingKey) {
        path = appendFieldPath(path, f.pendingKey->first);
      }
    }
    return path;
  }

  bool countNode(const yaml_mark_t& m) {
    if (++nodes_ > limits_.maxNodes) {
      fatal(m, "document too large: more than " + std::to_string(limits_.maxNodes) + " values");
      return false;
    }
    return true;
  }

  bool checkTag(const char* tag, const yaml_mark_t& m, bool& forceString) {
    if (tag == nullptr || std::string_view(tag) == "!") return true;
    std::string_view t(tag);
    if (t.starts_with(kCoreTagPrefix)) {
      t.remove_prefix(kCoreTagPrefix.size());
      if (t == "str") forceString = true;
      if (t == "str" || t == "int" || t == "bool" || t == "null" || t == "float" || t == "map" ||
          t == "seq") {
        return true;
      }
    }
    error(m, "YAML tag " + std::string(tag) + " is not supported");
    return false;
  }

  bool scalar(const yaml_event_t& event) {
    if (!countNode(event.start_mark)) return false;
    const auto& s = event.data.scalar;
    bool forceString = false;
    if (!checkTag(reinterpret_cast<const char*>(s.tag), event.start_mark, forceString)) {
      return attach(erroneousNode(event.start_mark));
    }
    Node n;
    n.type = NodeType::kScalar;
    n.mark = markOf(event.start_mark);
    n.scalar.assign(reinterpret_cast<const char*>(s.value), s.length);
    if (event.end_mark.index <= text_.size() && event.start_mark.index <= event.end_mark.index) {
      n.raw = text_.substr(event.start_mark.index, event.end_mark.index - event.start_mark.index);
    }
    n.plain = s.style == YAML_PLAIN_SCALAR_STYLE && !forceString;
    if (n.plain && n.scalarKind() == ScalarKind::kNull) n.type = NodeType::kNull;
    return attach(std::move(n));
  }

  bool open(const yaml_event_t& event, NodeType type, const char* tag) {
    if (!countNode(event.start_mark)) return false;
    if (static_cast<int>(stack_.size()) >= limits_.maxDepth) {
      fatal(event.start_mark,
            "nesting deeper than " + std::to_string(limits_.maxDepth) + " levels");
      return false;
    }
    bool ignored = false;
    checkTag(tag, event.start_mark, ignored);
    Frame f;
    f.node.type = type;
    f.node.mark = markOf(event.start_mark);
    stack_.push_back(std::move(f));
    return true;
  }

  bool close() {
    if (stack_.empty()) return true;
    Node n = std::move(stack_.back().node);
    stack_.pop_back();
    return attach(std::move(n));
  }

  bool attach(Node n) {
    if (stack_.empty()) {
      root_ = std::move(n);
      return true;
    }
    Frame& top = stack_.back();
    if (top.node.type == NodeType::kSequence) {
      top.node.items.push_back(std::move(n));
      return true;
    }
    if (!top.pendingKey) {
      if (n.type != NodeType::kScalar && n.type != NodeType::kNull) {
        if (recording()) {
          result_.errors.push_back(
              Diagnostic{n.mark, currentPath(), "mapping keys must be strings"});
        }
        top.pendingKey.emplace(std::string(), n.mark);
        return true;
      }
      top.pendingKey.emplace(std::move(n.scalar), n.mark);
      return true;
    }
    auto [key, keyMark] = std::move(*top.pendingKey);
    top.pendingKey.reset();
    // The root's repeated keys are kept: finishDocument tells a key written twice from
    // documents joined without "---".
    if (stack_.size() == 1) {
      top.node.entries.push_back(MapEntry{std::move(key), std::move(keyMark), std::move(n)});
      return true;
    }
    auto [first, inserted] = top.keyLines.emplace(key, keyMark.line);
    if (!inserted) {
      if (recording()) {
        result_.errors.push_back(
            Diagnostic{keyMark, appendFieldPath(currentPath(), escapeValue(key)),
                       "duplicate key " + quoteValue(key) + " (first at line " +
                           std::to_string(first->second) + ")"});
      }
      return true;
    }
    top.node.entries.push_back(MapEntry{std::move(key), std::move(keyMark), std::move(n)});
    return true;
  }

  bool finishDocument() {
    if (!root_ || root_->type == NodeType::kNull) {
      root_.reset();
      return true;
    }
    std::vector<Node> documents = splitAtRepeatedKeys(std::move(*root_), [this](Diagnostic d) {
      if (recording()) result_.errors.push_back(std::move(d));
    });
    root_.reset();
    for (size_t i = 0; i < documents.size(); ++i) {
      if (result_.documents.size() >= limits_.maxDocuments) {
        result_.errors.push_back(Diagnostic{
            documentMark_, "", "more than " + std::to_string(limits_.maxDocuments) + " documents"});
        return false;
      }
      const Mark mark = i == 0 ? documentMark_ : documents[i].mark;
      result_.documents.push_back(Document{std::move(documents[i]), mark});
    }
    return true;
  }

  std::shared_ptr<const std::string> file_;
  std::string_view text_;
  const LoadLimits& limits_;
  LoadResult& result_;
  std::vector<Frame> stack_;
  std::optional<Node> root_;
  Mark documentMark_;
  size_t unreadFrom_ = 0;  // where the text not yet made into documents starts
  size_t nodes_ = 0;
};

struct ParserDeleter {
  void operator()(yaml_parser_t* p) const {
    yaml_parser_delete(p);
    delete p;
  }
};

}  // namespace

void parseInto(std::string_view text, const std::string& fileName, const LoadLimits& limits,
               LoadResult& result) {
  auto file = std::make_shared<const std::string>(fileName);
  if (text.size() > limits.maxFileBytes) {
    result.errors.push_back(
        Diagnostic{Mark{file, 1, 1}, "",
                   "file larger than " + std::to_string(limits.maxFileBytes) + " bytes"});
    result.unread.push_back(UnreadDocuments{Mark{file, 1, 1}, {}, true});
    return;
  }
  std::unique_ptr<yaml_parser_t, ParserDeleter> parser(new yaml_parser_t);
  if (yaml_parser_initialize(parser.get()) == 0) {
    result.errors.push_back(Diagnostic{Mark{file, 1, 1}, "", "cannot initialize YAML parser"});
    return;
  }
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  TreeBuilder builder(file, text, limits, result);
  while (true) {
    yaml_event_t event;
    if (yaml_parser_parse(parser.get(), &event) == 0) {
      std::string message = "invalid YAML";
      const std::string problem = parser->problem != nullptr ? parser->problem : "";
      if (!problem.empty()) message += ": " + problem;
      if (parser->context != nullptr) {
        message += " " + std::string(parser->context) + " that starts at line " +
                   std::to_string(parser->context_mark.line + 1) + ", column " +
                   std::to_string(parser->context_mark.column + 1);
      }
      const size_t at = parser->problem_mark.index;
      if (problem.find("tab character") != std::string::npos ||
          (at < text.size() && text[at] == '\t')) {
        message += "; YAML indents with spaces, never tabs";
      }
      message += "; the rest of the file is not read";
      builder.fatal(parser->problem_mark, message);
      builder.stoppedAt(parser->problem_mark);
      return;
    }
    const bool done = event.type == YAML_STREAM_END_EVENT;
    const bool keepGoing = builder.handle(event);
    const yaml_mark_t at = event.start_mark;
    yaml_event_delete(&event);
    if (!done && !keepGoing) builder.stoppedAt(at);
    if (done || !keepGoing) return;
  }
}

LoadResult parseYaml(std::string_view text, const std::string& fileName, const LoadLimits& limits) {
  LoadResult result;
  parseInto(text, fileName, limits, result);
  return result;
}

}  // namespace kthw::resources
