#include "runtime/age_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstdint>
#include <memory>

namespace kthw::runtime {
namespace age_crypto {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* u8(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Status cryptoError(std::string_view what) {
  return internalError("OpenSSL: " + std::string(what) + " failed");
}

std::unique_ptr<EVP_PKEY, PkeyFree> x25519Private(const X25519Key& secret) {
  return std::unique_ptr<EVP_PKEY, PkeyFree>(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret.data(), secret.size()));
}

}  // namespace

StatusOr<Bytes> randomBytes(size_t n) {
  Bytes out(n, '\0');
  if (RAND_bytes(u8(out), static_cast<int>(n)) != 1) return cryptoError("RAND_bytes");
  return out;
}

// HKDF-SHA-256. An empty salt is the hash length of zeros (RFC 5869), which HMAC treats the same.
StatusOr<Bytes> hkdf(std::string_view ikm, std::string_view salt, std::string_view info) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return cryptoError("HKDF fetch");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return cryptoError("HKDF context");
  const Bytes zeros(32, '\0');
  const std::string_view s = salt.empty() ? std::string_view(zeros) : salt;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(s.data()), s.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(32, '\0');
  if (EVP_KDF_derive(ctx.get(), u8(out), out.size(), params) != 1) return cryptoError("HKDF");
  return out;
}

StatusOr<Bytes> hmacSha256(std::string_view key, std::string_view data) {
  Bytes out(32, '\0');
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), u8(data),
                data.size(), u8(out), out.size(), &len) == nullptr ||
      len != out.size()) {
    return cryptoError("HMAC");
  }
  return out;
}

StatusOr<Bytes> seal(std::string_view key, std::string_view nonce, std::string_view plaintext) {
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + kTagSize, '\0');
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, u8(key), u8(nonce)) != 1 ||
      (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), u8(out), &len, u8(plaintext),
                                               static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), u8(out) + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize, u8(out) + plaintext.size()) !=
          1) {
    return cryptoError("ChaCha20-Poly1305 seal");
  }
  return out;
}

// Nothing when the ciphertext does not authenticate under `key` and `nonce`.
std::optional<Bytes> open(std::string_view key, std::string_view nonce, std::string_view sealed) {
  if (sealed.size() < kTagSize) return std::nullopt;
  const size_t n = sealed.size() - kTagSize;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  Bytes out(n, '\0');
  Bytes tag(sealed.substr(n));
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, u8(key), u8(nonce)) != 1 ||
      (n > 0 &&
       EVP_DecryptUpdate(ctx.get(), u8(out), &len, u8(sealed), static_cast<int>(n)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, u8(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), u8(out) + len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

// The shared secret of `secret` and `peer`; nothing when it is all zeros (a low-order point),
// which the spec requires refusing.
std::optional<Bytes> x25519(const X25519Key& secret, std::string_view peer) {
  auto mine = x25519Private(secret);
  std::unique_ptr<EVP_PKEY, PkeyFree> theirs(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u8(peer), peer.size()));
  if (!mine || !theirs) return std::nullopt;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  Bytes shared(32, '\0');
  size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), u8(shared), &len) != 1 || len != 32) {
    return std::nullopt;
  }
  if (CRYPTO_memcmp(shared.data(), Bytes(32, '\0').data(), 32) == 0) return std::nullopt;
  return shared;
}

StatusOr<Bytes> scryptKey(std::string_view passphrase, std::string_view fullSalt, int log2N) {
  const uint64_t n = uint64_t{1} << log2N;
  const uint64_t r = 8;
  // OpenSSL's own bound on the memory scrypt may take: V (128·r·N) plus B and change.
  const uint64_t maxMem = 128 * r * (n + 2) + (uint64_t{1} << 20);
  Bytes key(32, '\0');
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), u8(fullSalt), fullSalt.size(), n, r, 1,
                     maxMem, u8(key), key.size()) != 1) {
    return resourceExhausted("scrypt with work factor 2^" + std::to_string(log2N) +
                             " failed (not enough memory?)");
  }
  return key;
}

}  // namespace age_crypto

using age_crypto::cryptoError;
using age_crypto::PkeyFree;

StatusOr<X25519Key> x25519PublicKey(const X25519Key& secretKey) {
  auto key = age_crypto::x25519Private(secretKey);
  X25519Key pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != 32) {
    return cryptoError("X25519 public key");
  }
  return pub;
}

StatusOr<X25519Key> generateX25519Key() {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  X25519Key secret{};
  size_t len = secret.size();
  if (!key || EVP_PKEY_get_raw_private_key(key.get(), secret.data(), &len) != 1 || len != 32) {
    return cryptoError("X25519 key generation");
  }
  return secret;
}

}  // namespace kthw::runtime
