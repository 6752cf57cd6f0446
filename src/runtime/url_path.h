#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// The one way kthw builds the path of a request target: every segment percent-encoded, so that
// no name can add a segment, a query, a fragment, a space or a line break to a request line.

// Every byte but RFC 3986's unreserved characters (letters, digits, "-._~") as %XX: for a path
// segment or a query parameter's value.
std::string percentEncode(std::string_view text);

// "/" followed by the encoded segments joined by "/". InvalidArgument for no segments or an
// empty, "." or ".." segment: servers remove dot segments before routing, encoded or not.
StatusOr<std::string> urlPath(const std::vector<std::string>& segments);

// The segments of an absolute path: "/a/b" -> {"a", "b"}; "/" -> {""}.
std::vector<std::string> pathSegments(std::string_view path);

}  // namespace kthw::runtime
