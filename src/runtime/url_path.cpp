#include "runtime/url_path.h"

namespace kthw::runtime {

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

StatusOr<std::string> urlPath(const std::vector<std::string>& segments) {
  if (segments.empty()) return invalidArgument("a URL path needs at least one segment");
  std::string out;
  for (const std::string& s : segments) {
    if (s.empty() || s == "." || s == "..") {
      return invalidArgument("a URL path segment may not be empty, \".\" or \"..\"");
    }
    out += "/" + percentEncode(s);
  }
  return out;
}

std::vector<std::string> pathSegments(std::string_view path) {
  std::vector<std::string> out;
  if (path.starts_with("/")) path.remove_prefix(1);
  size_t start = 0;
  while (true) {
    const size_t end = path.find('/', start);
    out.emplace_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace kthw::runtime
