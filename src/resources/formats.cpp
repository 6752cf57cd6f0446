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
  if (s.empty() || s.size() > 64) return std::nullopt;
  if (s == "0") return std::chrono::seconds(0);
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    double value = 0;
    if (!parseNumber(s.substr(i, j - i), value)) return std::nullopt;
    size_t k = j;
    while (k < s.size() && !((s[k] >= '0' && s[k] <= '9') || s[k] == '.')) ++k;
    const std::string_view unit = s.substr(j, k - j);
    double scale = 0;
    if (unit == "h")
      scale = 3600;
    else if (unit == "m")
      scale = 60;
    else if (unit == "s")
      scale = 1;
    else if (unit == "ms")
      scale = 1e-3;
    else if (unit == "us" || unit == "\xC2\xB5s")
      scale = 1e-6;
    else if (unit == "ns")
      scale = 1e-9;
    else
      return std::nullopt;
    total += value * scale;
    i = k;
  }
  if (total > 1e12) return std::nullopt;
  return std::chrono::seconds(static_cast<int64_t>(total));
}

std::string checkFormat(std::string_view format, std::string_view value) {
  if (format == "ipv4") return isIPv4(value) ? "" : "must be an IPv4 address";
  if (format == "ipv6") return isIPv6(value) ? "" : "must be an IPv6 address";
  if (format == "cidr") return parseCidr(value) ? "" : "must be a CIDR such as 10.32.0.0/24";
  if (format == "hostname") {
    return isHostname(value) ? "" : "must be a host name (letters, digits, '-' and '.')";
  }
  if (format == "duration") {
    return parseDuration(value) ? "" : "must be a duration such as 8760h or 30m";
  }
  return "";
}

}  // namespace kthw::resources
