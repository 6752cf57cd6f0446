#pragma once

#include <string>
#include <string_view>

namespace kthw::runtime {

std::string base64Encode(std::string_view data);
// Empty on malformed input.
std::string base64Decode(std::string_view text);

}  // namespace kthw::runtime
