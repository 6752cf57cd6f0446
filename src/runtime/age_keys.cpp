// age's text forms: its base64, age1... recipients and AGE-SECRET-KEY-1... identities.
#include <algorithm>
#include <cctype>
#include <cstdint>

#include "runtime/age.h"
#include "runtime/bech32.h"

namespace kthw::runtime {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

StatusOr<X25519Key> parseBech32Key(std::string_view text, std::string_view hrp) {
  auto decoded = bech32Decode(text);
  if (!decoded || decoded->hrp != hrp || decoded->data.size() != 32) {
    return invalidArgument("");
  }
  X25519Key key{};
  std::copy(decoded->data.begin(), decoded->data.end(), key.begin());
  return key;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The meaningful lines of a keys file: neither blank nor "#" comments, with their line numbers.
std::vector<std::pair<size_t, std::string_view>> keyLines(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> out;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.front() != '#') out.emplace_back(number, line);
  }
  return out;
}

}  // namespace

std::string ageBase64Encode(std::string_view data) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(data[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kBase64Alphabet[(v >> s) & 63];
  }
  const size_t left = data.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(data[i])} << 16;
    if (left == 2) v |= uint32_t{static_cast<unsigned char>(data[i + 1])} << 8;
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    if (left == 2) out += kBase64Alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> ageBase64Decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const size_t v = kBase64Alphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

StatusOr<X25519Key> parseAgeRecipient(std::string_view text) {
  auto key = parseBech32Key(text, "age");
  if (!key.ok() || !text.starts_with("age1")) {
    return invalidArgument("\"" + std::string(text.substr(0, 80)) +
                           "\" is not an age recipient (age1... as age-keygen -y prints it)");
  }
  return key;
}

StatusOr<std::vector<X25519Key>> parseAgeRecipientsFile(std::string_view text) {
  std::vector<X25519Key> out;
  for (const auto& [number, line] : keyLines(text)) {
    auto key = parseAgeRecipient(line);
    if (!key.ok()) {
      return invalidArgument("line " + std::to_string(number) + ": " + key.status().message());
    }
    out.push_back(*key);
  }
  if (out.empty()) return invalidArgument("no recipient in the recipients file");
  return out;
}

StatusOr<std::vector<X25519Key>> parseAgeIdentityFile(std::string_view text) {
  std::vector<X25519Key> out;
  for (const auto& [number, line] : keyLines(text)) {
    auto key = parseBech32Key(line, "age-secret-key-");
    // The line is a secret, or a typo of one: its number only, never its text.
    if (!key.ok() || !line.starts_with("AGE-SECRET-KEY-1")) {
      return invalidArgument("line " + std::to_string(number) +
                             " of the identity file is not an AGE-SECRET-KEY-1... line");
    }
    out.push_back(*key);
  }
  if (out.empty()) return invalidArgument("no AGE-SECRET-KEY-1... line in the identity file");
  return out;
}

std::string formatAgeRecipient(const X25519Key& publicKey) {
  return bech32Encode("age", {publicKey.begin(), publicKey.end()});
}

std::string formatAgeIdentity(const X25519Key& secretKey) {
  std::string s = bech32Encode("age-secret-key-", {secretKey.begin(), secretKey.end()});
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace kthw::runtime
