#pragma once

// The age header's stanzas and their text form (age_header.cpp), for ageEncrypt and ageDecrypt
// in age.cpp; private to those two files.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/age_crypto.h"

namespace kthw::runtime::age_header {

using age_crypto::Bytes;

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1";

struct Stanza {
  std::vector<std::string> args;  // args[0] is the type
  Bytes body;
};

// "-> ARGS" and the body in base64, in full 64-column lines and a shorter last one.
std::string formatStanza(const Stanza& s);

struct Header {
  std::vector<Stanza> stanzas;
  std::string_view macInput;  // from the version line up to and including "---"
  Bytes mac;
  size_t payloadOffset = 0;
};

// The header of an age file, up to and including its MAC; InvalidArgument when malformed.
StatusOr<Header> parseHeader(std::string_view file);

}  // namespace kthw::runtime::age_header
