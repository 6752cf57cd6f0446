#include "runtime/pki.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "runtime/pki_openssl.h"

namespace kthw::runtime {
namespace {

// No passphrase: an encrypted key (one read from a host, say) fails to load instead of OpenSSL
// prompting on the terminal.
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

}  // namespace

namespace pki_openssl {

std::string opensslError(const std::string& what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + ": " + buf;
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

Pkey loadKey(const PrivateKeyPem& key) {
  Bio bio(BIO_new_mem_buf(key.pem.data(), static_cast<int>(key.pem.size())));
  return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
}

X509Ptr loadCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
}

std::optional<KeyType> keyTypeOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 2048:
        return KeyType::kRsa2048;
      case 3072:
        return KeyType::kRsa3072;
      case 4096:
        return KeyType::kRsa4096;
      default:
        return std::nullopt;
    }
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
    const std::string g(group);
    if (g == "prime256v1" || g == "P-256") return KeyType::kEcdsaP256;
    if (g == "secp384r1" || g == "P-384") return KeyType::kEcdsaP384;
    if (g == "secp521r1" || g == "P-521") return KeyType::kEcdsaP521;
  }
  return std::nullopt;
}

}  // namespace pki_openssl

namespace {

using pki_openssl::Bio;
using pki_openssl::bioString;
using pki_openssl::keyTypeOf;
using pki_openssl::loadCert;
using pki_openssl::loadKey;
using pki_openssl::opensslError;
using pki_openssl::Pkey;
using pki_openssl::X509Ptr;

bool addEntries(X509_NAME* name, const char* field, const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1,
                                   0) != 1) {
      return false;
    }
  }
  return true;
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

}  // namespace

std::string_view keyTypeName(KeyType t) {
  switch (t) {
    case KeyType::kRsa2048:
      return "RSA-2048";
    case KeyType::kRsa3072:
      return "RSA-3072";
    case KeyType::kRsa4096:
      return "RSA-4096";
    case KeyType::kEcdsaP256:
      return "ECDSA-P256";
    case KeyType::kEcdsaP384:
      return "ECDSA-P384";
    case KeyType::kEcdsaP521:
      return "ECDSA-P521";
  }
  return "unknown";
}

StatusOr<PrivateKeyPem> generatePrivateKey(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kRsa2048:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case KeyType::kRsa3072:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
      break;
    case KeyType::kRsa4096:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096});
      break;
    case KeyType::kEcdsaP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEcdsaP384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::kEcdsaP521:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
      break;
  }
  Pkey key(raw);
  if (!key) return internalError(opensslError("key generation"));
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return internalError(opensslError("encoding a private key"));
  }
  return PrivateKeyPem{bioString(bio.get())};
}

StatusOr<std::string> publicKeyPem(const PrivateKeyPem& key) {
  Pkey k = loadKey(key);
  if (!k) return invalidArgument(opensslError("reading a private key"));
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), k.get()) != 1) {
    return internalError(opensslError("encoding a public key"));
  }
  return bioString(bio.get());
}

StatusOr<KeyType> privateKeyType(const PrivateKeyPem& key) {
  Pkey k = loadKey(key);
  if (!k) return invalidArgument(opensslError("reading a private key"));
  auto t = keyTypeOf(k.get());
  if (!t) return invalidArgument("unsupported key type");
  return *t;
}

StatusOr<std::string> issueCertificate(const CertificateRequest& r, const PrivateKeyPem& subjectKey,
                                       const std::string& issuerCertPem,
                                       const PrivateKeyPem& issuerKey,
                                       std::chrono::system_clock::time_point now) {
  Pkey subject = loadKey(subjectKey);
  Pkey signer = loadKey(issuerKey);
  if (!subject || !signer) return invalidArgument(opensslError("reading a private key"));
  X509Ptr issuer;
  if (!issuerCertPem.empty()) {
    issuer = loadCert(issuerCertPem);
    if (!issuer) return invalidArgument(opensslError("reading the issuer certificate"));
  }
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return internalError(opensslError("random serial"));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  const time_t start = std::chrono::system_clock::to_time_t(now - kNotBeforeBackdate);
  const time_t end = std::chrono::system_clock::to_time_t(now + r.validity);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), start);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), end);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!addEntries(name, "C", r.countries) || !addEntries(name, "ST", r.provinces) ||
      !addEntries(name, "L", r.localities) || !addEntries(name, "O", r.organizations) ||
      !addEntries(name, "OU", r.organizationalUnits) || !addEntries(name, "CN", {r.commonName})) {
    return invalidArgument(opensslError("building the subject"));
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer.get()) : name);
  X509_set_pubkey(cert.get(), subject.get());
  X509* issuerForExtensions = issuer ? issuer.get() : cert.get();
  bool ok = addExtension(cert.get(), issuerForExtensions, NID_basic_constraints,
                         r.isCa ? "critical,CA:TRUE" : "critical,CA:FALSE");
  ok = ok && addExtension(cert.get(), issuerForExtensions, NID_key_usage,
                          r.isCa ? "critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign"
                                 : "critical,digitalSignature,keyEncipherment");
  std::string eku;
  if (r.serverAuth) eku += "serverAuth";
  if (r.clientAuth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty())
    ok = ok && addExtension(cert.get(), issuerForExtensions, NID_ext_key_usage, eku);
  std::string san;
  for (const std::string& d : r.dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const std::string& ip : r.ipAddresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty())
    ok = ok && addExtension(cert.get(), issuerForExtensions, NID_subject_alt_name, san);
  ok = ok && addExtension(cert.get(), issuerForExtensions, NID_subject_key_identifier, "hash");
  if (issuer) {
    ok = ok && addExtension(cert.get(), issuerForExtensions, NID_authority_key_identifier,
                            "keyid:always");
  }
  if (!ok) return invalidArgument(opensslError("adding certificate extensions"));
  if (X509_sign(cert.get(), signer.get(), EVP_sha256()) <= 0) {
    return internalError(opensslError("signing the certificate"));
  }
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  return bioString(bio.get());
}

StatusOr<std::string> randomBytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return internalError(opensslError("random bytes"));
  }
  return out;
}

}  // namespace kthw::runtime
