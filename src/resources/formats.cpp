#include "resources/formats.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace kthw::resources {
namespace {

template <typename T>
bool parseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<std::array<uint8_t, 16>> parseAddress(std::string_view s, bool& v6) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  const std::string text(s);
  std::array<uint8_t, 16> out{};
  v6 = text.find(':') != std::string::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

}  // namespace

bool isIPv4(std::string_view s) {
  bool v6 = false;
  return parseAddress(s, v6) && !v6;
}

bool isIPv6(std::string_view s) {
  bool v6 = false;
  return parseAddress(s, v6) && v6;
}

bool isHostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::optional<Cidr> parseCidr(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  Cidr c;
  auto addr = parseAddress(s.substr(0, slash), c.v6);
  if (!addr) return std::nullopt;
  c.address = *addr;
  const std::string_view prefix = s.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 3 || !parseNumber(prefix, c.prefix)) return std::nullopt;
  if (c.prefix < 0 || c.prefix > (c.v6 ? 128 : 32)) return std::nullopt;
  return c;
}

namespace {
bool samePrefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int byte = i / 8;
    const int mask = 0x80 >> (i % 8);
    if ((a[byte] & mask) != (b[byte] & mask)) return false;
  }
  return true;
}
}  // namespace

bool Cidr::overlaps(const Cidr& other) const {
  if (v6 != other.v6) return false;
  return samePrefix(address, other.address, std::min(prefix, other.prefix));
}

bool Cidr::contains(std::string_view ip) const {
  bool ipV6 = false;
  auto addr = parseAddress(ip, ipV6);
  return addr && ipV6 == v6 && samePrefix(address, *addr, prefix);
}

std::optional<std::chrono::seconds> parseDuration(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  int lastRank = 4;  // h, m and s each at most once, in that order
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i || j - i > 9 || j == s.size()) return std::nullopt;
    int64_t value = 0;
    if (!parseNumber(s.substr(i, j - i), value)) return std::nullopt;
    const char unit = s[j];
    const int rank = unit == 'h' ? 3 : unit == 'm' ? 2 : unit == 's' ? 1 : 0;
    if (rank == 0 || rank >= lastRank) return std::nullopt;
    lastRank = rank;
    total += value * (rank == 3 ? 3600 : rank == 2 ? 60 : 1);
    i = j + 1;
  }
  return std::chrono::seconds(total);
}

std::optional<size_t> firstControlCharacter(std::string_view s, bool multiline) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (multiline && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return i;
  }
  return std::nullopt;
}

bool isNormalizedAbsolutePath(std::string_view s) {
  if (s.size() < 2 || s.front() != '/' || s.back() == '/') return false;
  if (firstControlCharacter(s, false)) return false;
  size_t start = 1;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view segment = s.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string checkFormat(std::string_view format, std::string_view value) {
  if (format == "ipv4") return isIPv4(value) ? "" : "must be an IPv4 address";
  if (format == "ipv6") return isIPv6(value) ? "" : "must be an IPv6 address";
  if (format == "cidr") return parseCidr(value) ? "" : "must be a CIDR such as 10.32.0.0/24";
  if (format == "dns-name") {
    return isHostname(value) ? "" : "must be a host name (letters, digits, '-' and '.')";
  }
  if (format == "duration") {
    auto d = parseDuration(value);
    if (!d) return "must be a duration in whole hours, minutes and seconds, such as 8760h or 1h30m";
    if (d->count() <= 0) return "must be longer than zero";
    if (*d > kMaxDuration) return "must be at most 100 years (876000h)";
    return "";
  }
  if (format == "path") {
    return isNormalizedAbsolutePath(value)
               ? ""
               : "must be an absolute, normalised path (no '.', '..' or empty segments, no "
                 "trailing '/')";
  }
  return "";
}

}  // namespace kthw::resources
