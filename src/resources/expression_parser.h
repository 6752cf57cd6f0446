#pragma once

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kthw::resources {

// A cursor over one expression of the substitution language, between "${" and "}"; the
// parsing half of substitution.cpp.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view expr, size_t base) : s_(expr), base_(base) {}

  bool done() {
    skipSpace();
    return i_ >= s_.size();
  }
  size_t offset() const { return base_ + i_; }

  std::string_view identifier() {
    skipSpace();
    const size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) != 0 ||
                              s_[i_] == '_' || s_[i_] == '-')) {
      ++i_;
    }
    return s_.substr(start, i_ - start);
  }

  // A dotted path after the current position, e.g. ".internalIP" or ".labels.role".
  std::string_view dottedRest() {
    skipSpace();
    if (i_ >= s_.size() || s_[i_] != '.') return {};
    const size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != ' ' && s_[i_] != ',' && s_[i_] != ')') ++i_;
    return s_.substr(start, i_ - start);
  }

  bool consume(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  std::optional<std::string> quoted() {
    skipSpace();
    if (i_ >= s_.size() || s_[i_] != '\'') return std::nullopt;
    const size_t end = s_.find('\'', i_ + 1);
    if (end == std::string_view::npos) return std::nullopt;
    std::string out(s_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return out;
  }

  // key=value pairs up to ")"; the "(" is consumed already.
  std::optional<std::map<std::string, std::string>> selector() {
    std::map<std::string, std::string> labels;
    if (consume(')')) return labels;
    while (true) {
      skipSpace();
      const size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '=' && s_[i_] != ',' && s_[i_] != ')') ++i_;
      const std::string key(trim(s_.substr(start, i_ - start)));
      if (!consume('=') || key.empty()) return std::nullopt;
      const size_t vstart = i_;
      while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ')') ++i_;
      labels[key] = std::string(trim(s_.substr(vstart, i_ - vstart)));
      if (consume(')')) return labels;
      if (!consume(',')) return std::nullopt;
    }
  }

 private:
  static std::string_view trim(std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  }
  void skipSpace() {
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
  }

  std::string_view s_;
  size_t base_;
  size_t i_ = 0;
};

}  // namespace kthw::resources
