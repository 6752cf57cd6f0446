#include "runtime/age.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>

#include "runtime/age_crypto.h"
#include "runtime/bech32.h"

namespace kthw::runtime {
namespace {

using age_crypto::Bytes;
using age_crypto::hkdf;
using age_crypto::hmacSha256;
using age_crypto::kTagSize;
using age_crypto::open;
using age_crypto::randomBytes;
using age_crypto::seal;
using age_crypto::x25519;

constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kFileKeySize = 16;
constexpr size_t kChunkSize = 64 * 1024;
constexpr size_t kStreamNonceSize = 16;
constexpr size_t kBodyLineWidth = 64;
// A header names each recipient once; thousands are a file built to make decryption slow.
constexpr size_t kMaxStanzas = 1024;

struct Stanza {
  std::vector<std::string> args;  // args[0] is the type
  Bytes body;
};

std::string formatStanza(const Stanza& s) {
  std::string out = "->";
  for (const std::string& a : s.args) out += " " + a;
  out += "\n";
  const std::string b64 = ageBase64Encode(s.body);
  // Full 64-column lines, then a shorter one, empty if need be: that is how a reader knows the
  // body ended.
  size_t i = 0;
  for (; i + kBodyLineWidth <= b64.size(); i += kBodyLineWidth) {
    out += b64.substr(i, kBodyLineWidth) + "\n";
  }
  out += b64.substr(i) + "\n";
  return out;
}

struct Header {
  std::vector<Stanza> stanzas;
  std::string_view macInput;  // from the version line up to and including "---"
  Bytes mac;
  size_t payloadOffset = 0;
};

// The next "\n"-terminated line from `pos`, without the newline; nothing at the end of the file.
std::optional<std::string_view> nextLine(std::string_view file, size_t& pos) {
  const size_t nl = file.find('\n', pos);
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = file.substr(pos, nl - pos);
  pos = nl + 1;
  return line;
}

bool isArgument(std::string_view a) {
  if (a.empty()) return false;
  for (char c : a) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

StatusOr<Stanza> parseStanza(std::string_view file, std::string_view first, size_t& pos) {
  Stanza s;
  std::string_view rest = first.substr(3);
  while (true) {
    const size_t sp = rest.find(' ');
    std::string_view a = rest.substr(0, sp);
    if (!isArgument(a)) return invalidArgument("malformed stanza line in the age header");
    s.args.emplace_back(a);
    if (sp == std::string_view::npos) break;
    rest = rest.substr(sp + 1);
  }
  std::string b64;
  while (true) {
    auto line = nextLine(file, pos);
    if (!line) return invalidArgument("the age header ends inside a stanza (truncated)");
    if (line->size() > kBodyLineWidth) {
      return invalidArgument("a stanza body line in the age header is longer than 64 columns");
    }
    b64 += *line;
    if (line->size() < kBodyLineWidth) break;
  }
  auto body = ageBase64Decode(b64);
  if (!body) return invalidArgument("a stanza body in the age header is not canonical base64");
  s.body = std::move(*body);
  return s;
}

StatusOr<Header> parseHeader(std::string_view file) {
  size_t pos = 0;
  auto version = nextLine(file, pos);
  if (!version || *version != kVersionLine) {
    return invalidArgument("not an age file (no age-encryption.org/v1 header)");
  }
  Header h;
  while (true) {
    const size_t lineStart = pos;
    auto line = nextLine(file, pos);
    if (!line) return invalidArgument("the age header is truncated");
    if (line->starts_with("-> ")) {
      if (h.stanzas.size() == kMaxStanzas) {
        return invalidArgument("the age header has more than " + std::to_string(kMaxStanzas) +
                               " stanzas");
      }
      auto stanza = parseStanza(file, *line, pos);
      if (!stanza.ok()) return stanza.status();
      h.stanzas.push_back(std::move(*stanza));
      continue;
    }
    if (!line->starts_with("--- ")) return invalidArgument("malformed line in the age header");
    auto mac = ageBase64Decode(line->substr(4));
    if (!mac || mac->size() != 32) return invalidArgument("malformed header MAC in the age file");
    h.macInput = file.substr(0, lineStart + 3);
    h.mac = std::move(*mac);
    h.payloadOffset = pos;
    break;
  }
  if (h.stanzas.empty()) return invalidArgument("the age header has no recipient stanza");
  return h;
}

Bytes chunkNonce(uint64_t counter, bool last) {
  Bytes nonce(12, '\0');
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<char>((counter >> (8 * i)) & 0xff);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

StatusOr<std::optional<Bytes>> unwrapX25519(const Stanza& s, const AgeIdentities& ids) {
  if (s.args.size() != 2) return invalidArgument("malformed X25519 stanza in the age header");
  auto share = ageBase64Decode(s.args[1]);
  if (!share || share->size() != 32 || s.body.size() != kFileKeySize + kTagSize) {
    return invalidArgument("malformed X25519 stanza in the age header");
  }
  for (const X25519Key& id : ids.x25519) {
    auto shared = x25519(id, *share);
    if (!shared) return invalidArgument("X25519 stanza with a low-order share in the age header");
    auto pub = x25519PublicKey(id);
    if (!pub.ok()) return pub.status();
    auto wrapKey = hkdf(*shared, *share + std::string(pub->begin(), pub->end()), kX25519Label);
    OPENSSL_cleanse(shared->data(), shared->size());
    if (!wrapKey.ok()) return wrapKey.status();
    auto fileKey = open(*wrapKey, Bytes(12, '\0'), s.body);
    OPENSSL_cleanse(wrapKey->data(), wrapKey->size());
    if (fileKey) return std::optional<Bytes>(std::move(*fileKey));
  }
  return std::optional<Bytes>();
}

bool isWorkFactor(std::string_view text) {
  if (text.empty() || text.size() > 2 || text[0] == '0') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

StatusOr<std::optional<Bytes>> unwrapScrypt(const Stanza& s, const std::string& passphrase) {
  if (s.args.size() != 3 || !isWorkFactor(s.args[2])) {
    return invalidArgument("malformed scrypt stanza in the age header");
  }
  auto salt = ageBase64Decode(s.args[1]);
  if (!salt || salt->size() != 16 || s.body.size() != kFileKeySize + kTagSize) {
    return invalidArgument("malformed scrypt stanza in the age header");
  }
  const int log2N = std::stoi(s.args[2]);
  if (log2N > kAgeMaxScryptLog2N) {
    return invalidArgument("the age file asks for scrypt work factor 2^" + s.args[2] +
                           ", more than the 2^" + std::to_string(kAgeMaxScryptLog2N) +
                           " kthw allows");
  }
  auto key = age_crypto::scryptKey(passphrase, std::string(kScryptLabel) + *salt, log2N);
  if (!key.ok()) return key.status();
  auto fileKey = open(*key, Bytes(12, '\0'), s.body);
  OPENSSL_cleanse(key->data(), key->size());
  if (!fileKey) return std::optional<Bytes>();
  return std::optional<Bytes>(std::move(*fileKey));
}

StatusOr<Bytes> findFileKey(const Header& h, const AgeIdentities& ids) {
  bool hasScrypt = false;
  bool hasX25519 = false;
  for (const Stanza& s : h.stanzas) {
    hasScrypt = hasScrypt || s.args[0] == "scrypt";
    hasX25519 = hasX25519 || s.args[0] == "X25519";
  }
  if (hasScrypt && h.stanzas.size() != 1) {
    return invalidArgument(
        "the age header has an scrypt stanza beside others, which the format "
        "forbids");
  }
  for (const Stanza& s : h.stanzas) {
    StatusOr<std::optional<Bytes>> key = std::optional<Bytes>();
    if (s.args[0] == "X25519" && !ids.x25519.empty()) key = unwrapX25519(s, ids);
    if (s.args[0] == "scrypt" && ids.passphrase) key = unwrapScrypt(s, *ids.passphrase);
    if (!key.ok()) return key.status();
    if (*key) return std::move(**key);
  }
  if (hasScrypt && !ids.passphrase) {
    return permissionDenied("the file is encrypted with a passphrase; give the passphrase");
  }
  if (hasScrypt) return permissionDenied("wrong passphrase: it does not open the file");
  if (hasX25519 && ids.x25519.empty()) {
    return permissionDenied("the file is encrypted to age recipients; give an identity file");
  }
  return permissionDenied("no identity given opens the file (not one of its recipients)");
}

StatusOr<Bytes> decryptPayload(std::string_view payload, std::string_view fileKey) {
  // The nonce belongs to the header as far as the spec's failure classes go.
  if (payload.size() < kStreamNonceSize) {
    return invalidArgument("the age file is truncated: the header ends without its nonce");
  }
  if (payload.size() < kStreamNonceSize + kTagSize) {
    return invalidArgument("the age file is truncated (no payload chunk)");
  }
  auto key = hkdf(fileKey, payload.substr(0, kStreamNonceSize), "payload");
  if (!key.ok()) return key.status();
  std::string_view rest = payload.substr(kStreamNonceSize);
  Bytes out;
  for (uint64_t counter = 0;; ++counter) {
    const bool mustBeLast = rest.size() <= kChunkSize + kTagSize;
    const std::string_view chunk = rest.substr(0, kChunkSize + kTagSize);
    rest.remove_prefix(chunk.size());
    auto plain = open(*key, chunkNonce(counter, mustBeLast), chunk);
    if (!plain && mustBeLast && open(*key, chunkNonce(counter, false), chunk)) {
      return invalidArgument("the age file is truncated: its final chunk is not marked last");
    }
    if (!plain && !mustBeLast && open(*key, chunkNonce(counter, true), chunk)) {
      return invalidArgument("the age file has data after its final chunk");
    }
    if (!plain) {
      return invalidArgument("chunk " + std::to_string(counter) +
                             " of the age file does not authenticate (tampered or truncated)");
    }
    if (mustBeLast && plain->empty() && counter > 0) {
      return invalidArgument("the age file ends with an empty chunk, which the format forbids");
    }
    out += *plain;
    if (mustBeLast) break;
  }
  OPENSSL_cleanse(key->data(), key->size());
  return out;
}

StatusOr<Stanza> x25519Stanza(const X25519Key& recipient, std::string_view fileKey) {
  auto ephemeral = generateX25519Key();
  if (!ephemeral.ok()) return ephemeral.status();
  auto share = x25519PublicKey(*ephemeral);
  if (!share.ok()) return share.status();
  const Bytes shareBytes(share->begin(), share->end());
  auto shared = x25519(*ephemeral, Bytes(recipient.begin(), recipient.end()));
  if (!shared) return invalidArgument("an age recipient is a low-order point");
  auto wrapKey =
      hkdf(*shared, shareBytes + Bytes(recipient.begin(), recipient.end()), kX25519Label);
  if (!wrapKey.ok()) return wrapKey.status();
  auto body = seal(*wrapKey, Bytes(12, '\0'), fileKey);
  if (!body.ok()) return body.status();
  return Stanza{{"X25519", ageBase64Encode(shareBytes)}, std::move(*body)};
}

StatusOr<Stanza> scryptStanza(const std::string& passphrase, int log2N, std::string_view fileKey) {
  if (log2N < 1 || log2N > kAgeMaxScryptLog2N) {
    return invalidArgument("scrypt work factor out of range");
  }
  auto salt = randomBytes(16);
  if (!salt.ok()) return salt.status();
  auto key = age_crypto::scryptKey(passphrase, std::string(kScryptLabel) + *salt, log2N);
  if (!key.ok()) return key.status();
  auto body = seal(*key, Bytes(12, '\0'), fileKey);
  if (!body.ok()) return body.status();
  return Stanza{{"scrypt", ageBase64Encode(*salt), std::to_string(log2N)}, std::move(*body)};
}

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

StatusOr<std::string> ageEncrypt(std::string_view plaintext, const AgeRecipients& recipients) {
  return ageEncryptForTesting(plaintext, recipients, {});
}

StatusOr<std::string> ageEncryptForTesting(std::string_view plaintext,
                                           const AgeRecipients& recipients,
                                           const AgeFaultsForTesting& faults) {
  if (plaintext.size() > kAgeMaxPlaintext) return resourceExhausted("too much to encrypt");
  if (recipients.passphrase && !recipients.x25519.empty()) {
    return invalidArgument("a passphrase cannot be combined with recipients (age forbids it)");
  }
  if (!recipients.passphrase && recipients.x25519.empty()) {
    return invalidArgument("no recipient and no passphrase to encrypt to");
  }
  auto fileKey = randomBytes(kFileKeySize);
  if (!fileKey.ok()) return fileKey.status();
  std::string header = std::string(kVersionLine) + "\n";
  if (recipients.passphrase) {
    auto s = scryptStanza(*recipients.passphrase, recipients.scryptLog2N, *fileKey);
    if (!s.ok()) return s.status();
    header += formatStanza(*s);
  }
  for (const X25519Key& r : recipients.x25519) {
    auto s = x25519Stanza(r, *fileKey);
    if (!s.ok()) return s.status();
    header += formatStanza(*s);
  }
  header += "---";
  auto macKey = hkdf(*fileKey, "", "header");
  if (!macKey.ok()) return macKey.status();
  auto mac = hmacSha256(*macKey, header);
  if (!mac.ok()) return mac.status();
  std::string out = header + " " + ageBase64Encode(*mac) + "\n";
  auto nonce = randomBytes(kStreamNonceSize);
  if (!nonce.ok()) return nonce.status();
  auto payloadKey = hkdf(*fileKey, *nonce, "payload");
  OPENSSL_cleanse(fileKey->data(), fileKey->size());
  if (!payloadKey.ok()) return payloadKey.status();
  out += *nonce;
  uint64_t counter = 0;
  size_t offset = 0;
  do {
    const std::string_view chunk = plaintext.substr(offset, kChunkSize);
    offset += chunk.size();
    const bool last =
        offset == plaintext.size() && !faults.emptyFinalChunk && !faults.finalChunkUnmarked;
    auto sealed = seal(*payloadKey, chunkNonce(counter++, last), chunk);
    if (!sealed.ok()) return sealed.status();
    out += *sealed;
  } while (offset < plaintext.size());
  if (faults.emptyFinalChunk) {
    auto sealed = seal(*payloadKey, chunkNonce(counter, true), "");
    if (!sealed.ok()) return sealed.status();
    out += *sealed;
  }
  OPENSSL_cleanse(payloadKey->data(), payloadKey->size());
  return out;
}

StatusOr<std::string> ageDecrypt(std::string_view file, const AgeIdentities& identities) {
  const size_t chunks = kAgeMaxPlaintext / kChunkSize + 1;
  if (file.size() > kAgeMaxPlaintext + chunks * kTagSize + (size_t{1} << 20)) {
    return resourceExhausted("the age file is larger than kthw reads");
  }
  auto header = parseHeader(file);
  if (!header.ok()) return header.status();
  auto fileKey = findFileKey(*header, identities);
  if (!fileKey.ok()) return fileKey.status();
  auto macKey = hkdf(*fileKey, "", "header");
  if (!macKey.ok()) return macKey.status();
  auto mac = hmacSha256(*macKey, header->macInput);
  if (!mac.ok()) return mac.status();
  if (CRYPTO_memcmp(mac->data(), header->mac.data(), mac->size()) != 0) {
    return invalidArgument("the age header MAC does not match (the header was tampered with)");
  }
  auto plain = decryptPayload(file.substr(header->payloadOffset), *fileKey);
  OPENSSL_cleanse(fileKey->data(), fileKey->size());
  return plain;
}

}  // namespace kthw::runtime
