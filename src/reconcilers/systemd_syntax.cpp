#include "reconcilers/systemd_syntax.h"

#include <cstdio>

namespace kthw::reconcilers {
namespace {

bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Characters a command-line word may hold without quotes.
bool needsNoQuotes(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._/:=,+@%$~-").find(c) != std::string_view::npos;
}

Status checkRepresentable(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    if (!isControl(value[i])) continue;
    char code[8];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned char>(value[i]));
    return invalidArgument(std::string("a systemd unit cannot carry the control character ") +
                           code + " (at offset " + std::to_string(i) + ")");
  }
  return okStatus();
}

enum class Dollar { kDoubled, kLiteral };

StatusOr<std::string> quoteWord(std::string_view word, Dollar dollar) {
  if (Status s = checkRepresentable(word); !s.ok()) return s;
  std::string escaped;
  bool quote = word.empty();
  for (char c : word) {
    quote = quote || !needsNoQuotes(c);
    if (c == '%') {
      escaped += "%%";
    } else if (c == '$' && dollar == Dollar::kDoubled) {
      escaped += "$$";
    } else if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else {
      escaped += c;
    }
  }
  return quote ? "\"" + escaped + "\"" : escaped;
}

}  // namespace

StatusOr<std::string> systemdValue(std::string_view value, Specifiers specifiers) {
  if (Status s = checkRepresentable(value); !s.ok()) return s;
  if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) {
    return invalidArgument("systemd strips leading and trailing spaces from a value");
  }
  if (!value.empty() && value.back() == '\\') {
    return invalidArgument("a value ending in a backslash would continue onto the next line");
  }
  std::string out;
  for (char c : value) {
    if (c != '%') {
      out += c;
    } else if (specifiers == Specifiers::kExpanded) {
      out += "%%";
    } else {
      return invalidArgument("'%' has no meaning in this directive");
    }
  }
  return out;
}

StatusOr<std::string> systemdCommandWord(std::string_view word) {
  return quoteWord(word, Dollar::kDoubled);
}

StatusOr<std::string> systemdCommandLine(const std::vector<std::string>& argv) {
  if (argv.empty() || !argv.front().starts_with("/")) {
    return invalidArgument("a command line starts with an absolute path");
  }
  std::string out;
  for (const std::string& word : argv) {
    auto quoted = systemdCommandWord(word);
    if (!quoted.ok()) return quoted.status();
    out += (out.empty() ? "" : " \\\n  ") + *quoted;
  }
  return out;
}

StatusOr<std::string> systemdEnvironment(std::string_view name, std::string_view value) {
  if (name.empty() || name.find('=') != std::string_view::npos) {
    return invalidArgument("not an environment variable name");
  }
  return quoteWord(std::string(name) + "=" + std::string(value), Dollar::kLiteral);
}

}  // namespace kthw::reconcilers
