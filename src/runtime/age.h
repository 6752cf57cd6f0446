#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// The age file format (age-encryption.org/v1): a header of recipient stanzas that each wrap one
// random file key, an HMAC over the header, then the payload as ChaCha20-Poly1305 STREAM chunks
// of 64 KiB. Files written here open with Debian's `age`, and files `age` writes open here. Only
// the X25519 and scrypt stanza types are understood; others are skipped on decryption, as the
// spec asks.
//
// Everything is in memory: the inputs are secret stores of a few hundred KiB, and both
// directions refuse more than kAgeMaxPlaintext.
inline constexpr size_t kAgeMaxPlaintext = size_t{256} << 20;
// The scrypt work factor kthw writes (age's own default) and the most it accepts: 2^22 takes
// 4 GiB and seconds; more is a denial of service, not a passphrase.
inline constexpr int kAgeScryptLog2N = 18;
inline constexpr int kAgeMaxScryptLog2N = 22;

using X25519Key = std::array<unsigned char, 32>;

struct AgeRecipients {
  std::vector<X25519Key> x25519;          // public keys
  std::optional<std::string> passphrase;  // alone: the spec forbids scrypt beside others
  int scryptLog2N = kAgeScryptLog2N;
};

struct AgeIdentities {
  std::vector<X25519Key> x25519;  // secret keys
  std::optional<std::string> passphrase;
};

// "age1..." → the public key. InvalidArgument with the reason otherwise.
StatusOr<X25519Key> parseAgeRecipient(std::string_view text);
// A recipients file as `age -R` reads it: one age1 recipient a line, blank lines and "#"
// comments allowed.
StatusOr<std::vector<X25519Key>> parseAgeRecipientsFile(std::string_view text);
// An identity file as age-keygen writes it: AGE-SECRET-KEY-1... lines, "#" comments and blank
// lines. At least one key.
StatusOr<std::vector<X25519Key>> parseAgeIdentityFile(std::string_view text);

std::string formatAgeRecipient(const X25519Key& publicKey);
std::string formatAgeIdentity(const X25519Key& secretKey);
// The public key of a secret key (what age-keygen -y prints, once formatted).
StatusOr<X25519Key> x25519PublicKey(const X25519Key& secretKey);
// A fresh secret key.
StatusOr<X25519Key> generateX25519Key();

// Encrypts to every recipient (at least one X25519 key, or the passphrase alone).
StatusOr<std::string> ageEncrypt(std::string_view plaintext, const AgeRecipients& recipients);

// Ways to break the payload on purpose, so tests can check that decryption refuses files
// other implementations could write wrongly. Never set outside tests.
struct AgeFaultsForTesting {
  bool emptyFinalChunk = false;     // after the data, one more chunk, empty and marked last
  bool finalChunkUnmarked = false;  // the final chunk's last flag is clear
};
StatusOr<std::string> ageEncryptForTesting(std::string_view plaintext,
                                           const AgeRecipients& recipients,
                                           const AgeFaultsForTesting& faults);

// Decrypts an age file with whichever identity opens it. The whole file is authenticated before
// anything is returned: a bad header MAC, a chunk that does not authenticate, a truncated file,
// trailing data, an empty chunk that is not the whole file, non-canonical base64, an scrypt
// stanza beside others or a work factor above kAgeMaxScryptLog2N are InvalidArgument; no
// identity that fits is PermissionDenied. Messages never contain key material.
StatusOr<std::string> ageDecrypt(std::string_view file, const AgeIdentities& identities);

// Base64 as age writes it: standard alphabet, no padding, and decoding refuses anything that
// does not re-encode to the same text.
std::string ageBase64Encode(std::string_view data);
std::optional<std::string> ageBase64Decode(std::string_view text);

}  // namespace kthw::runtime
