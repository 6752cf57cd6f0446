#include "reconcilers/yaml_emitter.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace kthw::reconcilers {
namespace {

using rapidjson::Value;

bool plainSafe(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '/')) {
    return false;
  }
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("._/:+=@-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  if (s.back() == ':') return false;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 9> kWords = {"y",   "n",    "yes",   "no",  "on",
                                                             "off", "true", "false", "null"};
  return std::find(kWords.begin(), kWords.end(), lower) == kWords.end();
}

class Emitter {
 public:
  bool ok() const { return ok_; }

  std::string scalar(const Value& v) {
    if (v.IsObject()) return "{}";
    if (v.IsArray()) return "[]";
    if (v.IsString() && plainSafe(std::string_view(v.GetString(), v.GetStringLength()))) {
      return std::string(v.GetString(), v.GetStringLength());
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::ASCII<>> w(buf);
    if (!v.Accept(w)) {
      ok_ = false;
      return "";
    }
    return std::string(buf.GetString(), buf.GetSize());
  }

  static bool nested(const Value& v) {
    return (v.IsObject() && v.MemberCount() > 0) || (v.IsArray() && !v.Empty());
  }

  // Writes a non-empty mapping or sequence, each line starting at column `indent`.
  void block(const Value& v, size_t indent, std::string& out) {
    const std::string pad(indent, ' ');
    if (v.IsObject()) {
      for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
        out += pad + scalar(it->name) + ":";
        const Value& child = it->value;
        if (!nested(child)) {
          out += " " + scalar(child) + "\n";
        } else {
          out += "\n";
          block(child, indent + 2, out);
        }
      }
      return;
    }
    for (const Value& item : v.GetArray()) {
      if (!nested(item)) {
        out += pad + "- " + scalar(item) + "\n";
      } else if (item.IsObject()) {
        std::string inner;
        block(item, indent + 2, inner);
        out += pad + "- " + inner.substr(indent + 2);
      } else {
        out += pad + "-\n";
        block(item, indent + 2, out);
      }
    }
  }

 private:
  bool ok_ = true;
};

}  // namespace

StatusOr<std::string> emitYaml(const Value& document) {
  Emitter e;
  std::string out;
  if (Emitter::nested(document)) {
    e.block(document, 0, out);
  } else {
    out = e.scalar(document) + "\n";
  }
  if (!e.ok()) return invalidArgument("a string of the document is not valid UTF-8");
  return out;
}

}  // namespace kthw::reconcilers
