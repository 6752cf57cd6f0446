#include "runtime/age.h"

#include <openssl/crypto.h>

#include <cstdint>
#include <memory>

#include "runtime/age_crypto.h"
#include "runtime/age_header.h"

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
using age_header::formatStanza;
using age_header::Header;
using age_header::kVersionLine;
using age_header::parseHeader;
using age_header::Stanza;

constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr size_t kFileKeySize = 16;
constexpr size_t kChunkSize = size_t{64} * 1024;
constexpr size_t kStreamNonceSize = 16;

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

}  // namespace

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
