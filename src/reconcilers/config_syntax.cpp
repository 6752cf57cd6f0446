#include "reconcilers/config_syntax.h"

#include <cstdio>

namespace kthw::reconcilers {
namespace {

bool bare(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._:/-").find(c) != std::string_view::npos;
}

Status noControlCharacters(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != 0x7f) continue;
    char code[8];
    std::snprintf(code, sizeof code, "U+%04X", c);
    return invalidArgument(std::string("a configuration file cannot carry the control character ") +
                           code + " (at offset " + std::to_string(i) + ")");
  }
  return okStatus();
}

bool allBare(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (!bare(c)) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::string> nginxWord(std::string_view value) {
  if (Status s = noControlCharacters(value); !s.ok()) return s;
  if (value.find('$') != std::string_view::npos) {
    return invalidArgument("nginx cannot carry a literal '$' (it would read a variable)");
  }
  if (allBare(value)) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

StatusOr<std::string> haproxyWord(std::string_view value) {
  if (Status s = noControlCharacters(value); !s.ok()) return s;
  if (value.find('\'') != std::string_view::npos) {
    return invalidArgument("haproxy cannot carry a \"'\" inside single quotes");
  }
  if (allBare(value)) return std::string(value);
  return "'" + std::string(value) + "'";
}

StatusOr<std::string> configComment(std::string_view text) {
  if (Status s = noControlCharacters(text); !s.ok()) return s;
  return "# " + std::string(text) + "\n";
}

}  // namespace kthw::reconcilers
