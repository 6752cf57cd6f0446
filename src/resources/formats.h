#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kthw::resources {

bool isIPv4(std::string_view s);
bool isIPv6(std::string_view s);
// RFC 1123 host name: dot-separated labels of letters, digits and '-'.
bool isHostname(std::string_view s);

struct Cidr {
  std::array<uint8_t, 16> address{};
  int prefix = 0;
  bool v6 = false;

  bool overlaps(const Cidr& other) const;
  bool contains(std::string_view ip) const;
};
std::optional<Cidr> parseCidr(std::string_view s);

// The whole-second subset of Go's time.ParseDuration syntax: hours, minutes and seconds, each
// at most once and in that order ("8760h", "1h30m", "90s"). Fractions and sub-second units are
// refused: a certificate's lifetime is counted in seconds.
std::optional<std::chrono::seconds> parseDuration(std::string_view s);
// The longest duration format "duration" accepts: 100 years of 365 days.
inline constexpr std::chrono::seconds kMaxDuration = std::chrono::hours(876000);

// The offset of the first control character (U+0000-U+001F, U+007F), if any. `multiline`
// allows line feeds and tabs, the only control characters of multi-line content.
std::optional<size_t> firstControlCharacter(std::string_view s, bool multiline);

// An absolute path in normal form: "/" then segments that are neither empty, "." nor "..", no
// trailing "/", no control characters.
bool isNormalizedAbsolutePath(std::string_view s);

// Checks a value against an OpenAPI format; returns an error message, or empty when it passes.
// Besides ipv4, ipv6 and cidr, kthw knows "dns-name" (a host name or address: letters, digits,
// '-' and '.'), "duration" (parseDuration, from 1s to kMaxDuration), "path"
// (isNormalizedAbsolutePath) and "multiline" (content whose lines are not interpreted by kthw;
// see schema.h). "dns-name" is not OpenAPI's "hostname" on purpose: a real API server checks
// "hostname" with its own rule, which refuses IP addresses and names such as controller-0.
// Formats kthw does not know are accepted, as the API server does.
std::string checkFormat(std::string_view format, std::string_view value);

}  // namespace kthw::resources
