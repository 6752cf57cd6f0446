#pragma once

// The OpenSSL handles and helpers that pki.cpp (keys, issuing) and pki_inspect.cpp (reading and
// checking certificates) share; private to those two files.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>

#include "runtime/pki.h"

namespace kthw::runtime::pki_openssl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// The reason OpenSSL gives for the last failure, behind `what`; the error queue is cleared.
std::string opensslError(const std::string& what);
std::string bioString(BIO* bio);
// Null when the PEM does not parse, or the key is encrypted.
Pkey loadKey(const PrivateKeyPem& key);
X509Ptr loadCert(const std::string& pem);
// Nothing for a key of a type or size kthw does not issue.
std::optional<KeyType> keyTypeOf(EVP_PKEY* key);

}  // namespace kthw::runtime::pki_openssl
