#pragma once

// What the loader makes of input that is not what it should be: documents joined without a
// "---" line, and text it could not parse.

#include <functional>
#include <string_view>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/yaml_loader.h"
#include "resources/yaml_node.h"

namespace kthw::resources {

// A document holds each top-level key once. Where keys of `root` repeat, either documents were
// joined without a "---" line between them, so that every run of keys up to a repeat has an
// apiVersion and a kind of its own, and each run is returned as the document it is; or a key was
// written twice, and its first value stands. Either way `report` gets an error at each repeat,
// with the hint that a "---" is missing.
std::vector<Node> splitAtRepeatedKeys(Node root, const std::function<void(Diagnostic)>& report);

// The documents of text the parser did not get through, as far as its lines tell: the value of
// each `kind:` line at the start of a line, and whether some document ("---" lines separate
// them) holds content but no such line.
UnreadDocuments scanUnread(std::string_view text, Mark at);

}  // namespace kthw::resources
