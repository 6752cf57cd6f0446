#include "runtime/bech32.h"

#include <cctype>
#include <cstdint>

namespace kthw::runtime {
namespace {

constexpr std::string_view kAlphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

uint32_t polymod(const std::vector<unsigned char>& values) {
  constexpr uint32_t kGenerator[] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t chk = 1;
  for (unsigned char v : values) {
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i) {
      if (((top >> i) & 1) != 0) chk ^= kGenerator[i];
    }
  }
  return chk;
}

std::vector<unsigned char> expandHrp(std::string_view hrp) {
  std::vector<unsigned char> out;
  for (char c : hrp) out.push_back(static_cast<unsigned char>(c) >> 5);
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<unsigned char>(c) & 31);
  return out;
}

// Regroups bits: 8 → 5 pads the tail with zeros; 5 → 8 refuses leftover bits that are not zero
// or that make up a whole group.
std::optional<std::vector<unsigned char>> regroup(const std::vector<unsigned char>& in,
                                                  int fromBits, int toBits, bool pad) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t mask = (1u << toBits) - 1;
  std::vector<unsigned char> out;
  for (unsigned char v : in) {
    acc = (acc << fromBits) | v;
    bits += fromBits;
    while (bits >= toBits) {
      bits -= toBits;
      out.push_back(static_cast<unsigned char>((acc >> bits) & mask));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<unsigned char>((acc << (toBits - bits)) & mask));
  } else if (bits >= fromBits || ((acc << (toBits - bits)) & mask) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string bech32Encode(std::string_view hrp, const std::vector<unsigned char>& data) {
  const std::vector<unsigned char> five = *regroup(data, 8, 5, true);
  std::vector<unsigned char> values = expandHrp(hrp);
  values.insert(values.end(), five.begin(), five.end());
  values.insert(values.end(), 6, 0);
  const uint32_t mod = polymod(values) ^ 1;
  std::string out(hrp);
  out += '1';
  for (unsigned char v : five) out += kAlphabet[v];
  for (int i = 0; i < 6; ++i) out += kAlphabet[(mod >> (5 * (5 - i))) & 31];
  return out;
}

std::optional<Bech32> bech32Decode(std::string_view text) {
  bool lower = false;
  bool upper = false;
  for (char c : text) {
    if (c < 33 || c > 126) return std::nullopt;
    lower = lower || std::islower(static_cast<unsigned char>(c));
    upper = upper || std::isupper(static_cast<unsigned char>(c));
  }
  if (lower && upper) return std::nullopt;
  std::string s(text);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t sep = s.rfind('1');
  if (sep == std::string::npos || sep == 0 || sep + 7 > s.size()) return std::nullopt;
  const std::string hrp = s.substr(0, sep);
  std::vector<unsigned char> values = expandHrp(hrp);
  std::vector<unsigned char> five;
  for (size_t i = sep + 1; i < s.size(); ++i) {
    const size_t v = kAlphabet.find(s[i]);
    if (v == std::string_view::npos) return std::nullopt;
    five.push_back(static_cast<unsigned char>(v));
  }
  values.insert(values.end(), five.begin(), five.end());
  if (polymod(values) != 1) return std::nullopt;
  five.resize(five.size() - 6);
  auto data = regroup(five, 5, 8, false);
  if (!data) return std::nullopt;
  return Bech32{hrp, std::move(*data)};
}

}  // namespace kthw::runtime
