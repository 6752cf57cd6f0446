#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kthw::runtime {

// Lower-case hex SHA-256, as sha256sum prints it.
std::string sha256Hex(std::string_view data);

// Lower-case hex of raw bytes.
std::string hexBytes(const unsigned char* data, size_t size);

}  // namespace kthw::runtime
