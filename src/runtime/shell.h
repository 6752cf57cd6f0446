#pragma once

#include <string>

namespace kthw::runtime {

// Shell-quotes one word with single quotes: the one quoting function for every shell word kthw
// composes, whatever runs it (a host's /bin/sh over SSH or locally).
std::string shellQuote(const std::string& word);

}  // namespace kthw::runtime
