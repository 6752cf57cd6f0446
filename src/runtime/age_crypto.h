#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/age.h"

// The primitives age is built from, each one OpenSSL 3 call sequence. Internal to age.cpp; a
// header so that the format code reads apart from the EVP plumbing.
namespace kthw::runtime::age_crypto {

using Bytes = std::string;  // binary

inline constexpr size_t kTagSize = 16;

StatusOr<Bytes> randomBytes(size_t n);
// HKDF-SHA-256 to 32 bytes. An empty salt is the hash length of zeros (RFC 5869).
StatusOr<Bytes> hkdf(std::string_view ikm, std::string_view salt, std::string_view info);
StatusOr<Bytes> hmacSha256(std::string_view key, std::string_view data);
// ChaCha20-Poly1305 with a 12-byte nonce and no associated data: ciphertext, then the tag.
StatusOr<Bytes> seal(std::string_view key, std::string_view nonce, std::string_view plaintext);
// Nothing when the ciphertext does not authenticate under `key` and `nonce`.
std::optional<Bytes> open(std::string_view key, std::string_view nonce, std::string_view sealed);
// The shared secret of `secret` and the 32-byte `peer`; nothing when it is all zeros (a
// low-order point), which age requires refusing, or when `peer` is not a key.
std::optional<Bytes> x25519(const X25519Key& secret, std::string_view peer);
// scrypt (r 8, p 1) to 32 bytes; memory is bounded by what 2^log2N needs.
StatusOr<Bytes> scryptKey(std::string_view passphrase, std::string_view salt, int log2N);

}  // namespace kthw::runtime::age_crypto
