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

// Go's time.ParseDuration syntax ("8760h", "1h30m", "10s"), to whole seconds.
std::optional<std::chrono::seconds> parseDuration(std::string_view s);

// Checks a value against an OpenAPI format; returns an error message, or empty when it passes.
// Formats kthw does not know are accepted, as the API server does.
std::string checkFormat(std::string_view format, std::string_view value);

}  // namespace kthw::resources
