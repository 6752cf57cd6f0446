#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kthw::runtime {

// Bech32 (BIP 173, the original checksum, not bech32m) as age spells its keys: `hrp` + "1" +
// data + checksum. age's keys are longer than BIP 173's 90 characters, so no length limit
// applies here beyond what the caller checks.
struct Bech32 {
  std::string hrp;  // lower case
  std::vector<unsigned char> data;
};

// Lower case; the caller upper-cases for secret keys.
std::string bech32Encode(std::string_view hrp, const std::vector<unsigned char>& data);
// Nothing on a bad checksum, mixed case, a character outside the alphabet or padding bits that
// are not zero.
std::optional<Bech32> bech32Decode(std::string_view text);

}  // namespace kthw::runtime
