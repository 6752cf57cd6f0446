#pragma once

#include <string>
#include <string_view>

namespace kthw::runtime {

// Lower-case hex SHA-256, as sha256sum prints it.
std::string sha256Hex(std::string_view data);

}  // namespace kthw::runtime
