#include "runtime/pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "runtime/digest.h"

namespace kthw::runtime {
namespace {

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

// No passphrase: an encrypted key (one read from a host, say) fails to load instead of OpenSSL
// prompting on the terminal.
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

Pkey loadKey(const PrivateKeyPem& key) {
  Bio bio(BIO_new_mem_buf(key.pem.data(), static_cast<int>(key.pem.size())));
  return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
}

X509Ptr loadCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr));
}

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

std::chrono::system_clock::time_point toTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string colonHex(const unsigned char* data, size_t len) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < len; ++i) {
    if (i > 0) out += ':';
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
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

std::vector<std::string> nameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

// RFC 2253 with every byte outside printable ASCII escaped (ASN1_STRFLGS_ESC_MSB and _CTRL are
// part of XN_FLAG_RFC2253).
std::string rfc2253(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  return bioString(bio.get());
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

StatusOr<CertificateInfo> inspectCertificate(const std::string& certPem) {
  X509Ptr cert = loadCert(certPem);
  if (!cert) return invalidArgument(opensslError("reading a certificate"));
  CertificateInfo info;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  auto cn = nameEntries(subject, NID_commonName);
  if (!cn.empty()) info.commonName = cn.front();
  info.organizations = nameEntries(subject, NID_organizationName);
  auto issuerCn = nameEntries(X509_get_issuer_name(cert.get()), NID_commonName);
  if (!issuerCn.empty()) info.issuerCommonName = issuerCn.front();
  info.subject = rfc2253(subject);
  info.issuer = rfc2253(X509_get_issuer_name(cert.get()));
  info.isCa = X509_check_ca(cert.get()) > 0;
  const uint32_t xku = X509_get_extended_key_usage(cert.get());
  info.serverAuth =
      (X509_get_extension_flags(cert.get()) & EXFLAG_XKUSAGE) != 0 && (xku & XKU_SSL_SERVER) != 0;
  info.clientAuth =
      (X509_get_extension_flags(cert.get()) & EXFLAG_XKUSAGE) != 0 && (xku & XKU_SSL_CLIENT) != 0;
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS) {
      info.dnsNames.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                 static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)));
    } else if (g->type == GEN_IPADD) {
      const int len = ASN1_STRING_length(g->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = {0};
      inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), text,
                sizeof text);
      info.ipAddresses.emplace_back(text);
    }
  }
  GENERAL_NAMES_free(sans);
  std::sort(info.dnsNames.begin(), info.dnsNames.end());
  std::sort(info.ipAddresses.begin(), info.ipAddresses.end());
  info.notBefore = toTimePoint(X509_get0_notBefore(cert.get()));
  info.notAfter = toTimePoint(X509_get0_notAfter(cert.get()));
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  if (pub != nullptr) info.keyType = keyTypeOf(pub);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &mdLen);
  info.sha256Fingerprint = colonHex(md, mdLen);
  unsigned char* der = nullptr;
  const int derLen = i2d_PUBKEY(pub, &der);
  if (derLen > 0) {
    info.publicKeySha256 =
        sha256Hex(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(derLen)));
  }
  OPENSSL_free(der);
  return info;
}

bool signedBy(const std::string& certPem, const std::string& issuerCertPem) {
  X509Ptr cert = loadCert(certPem);
  X509Ptr issuer = loadCert(issuerCertPem);
  if (!cert || !issuer) return false;
  EVP_PKEY* key = X509_get0_pubkey(issuer.get());
  const bool ok = key != nullptr && X509_verify(cert.get(), key) == 1 &&
                  X509_check_issued(issuer.get(), cert.get()) == X509_V_OK;
  ERR_clear_error();
  return ok;
}

bool keyMatches(const std::string& certPem, const PrivateKeyPem& key) {
  X509Ptr cert = loadCert(certPem);
  Pkey k = loadKey(key);
  const bool ok = cert && k && X509_check_private_key(cert.get(), k.get()) == 1;
  ERR_clear_error();
  return ok;
}

Status verifyChain(const std::string& certPem, const std::string& authorityPem) {
  X509Ptr cert = loadCert(certPem);
  if (!cert) return invalidArgument(opensslError("reading the certificate"));
  X509Ptr authority = loadCert(authorityPem);
  if (!authority) return invalidArgument(opensslError("reading the authority's certificate"));
  X509StorePtr trusted(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!trusted || !ctx || X509_STORE_add_cert(trusted.get(), authority.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), trusted.get(), cert.get(), nullptr) != 1) {
    return internalError(opensslError("setting up certificate verification"));
  }
  // Expiry is judged with the caller's clock, so that "expired" and "not from this CA" stay
  // apart and tests need no wall clock.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  const int verified = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (verified == 1) return okStatus();
  return failedPrecondition(X509_verify_cert_error_string(error));
}

std::string_view certificateHealthName(CertificateHealth h) {
  switch (h) {
    case CertificateHealth::kUntrusted:
      return "untrusted";
    case CertificateHealth::kExpired:
      return "expired";
    case CertificateHealth::kNotYetValid:
      return "not-yet-valid";
    case CertificateHealth::kRenewDue:
      return "renew-due";
    case CertificateHealth::kValid:
      return "valid";
  }
  return "unknown";
}

StatusOr<CertificateCheck> checkCertificate(const std::string& certPem,
                                            const std::string& authorityPem,
                                            std::chrono::seconds renewBefore,
                                            std::chrono::system_clock::time_point now) {
  auto info = inspectCertificate(certPem);
  if (!info.ok()) return info.status();
  CertificateCheck check;
  check.info = std::move(*info);
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(check.info.notAfter - now);
  constexpr int64_t kDay = 24 * 60 * 60;
  // Rounded towards minus infinity: a certificate that expired an hour ago has -1 days left.
  check.daysLeft = left.count() >= 0 ? left.count() / kDay : -((-left.count() + kDay - 1) / kDay);
  check.chain = verifyChain(certPem, authorityPem);
  if (!check.chain.ok()) {
    check.health = CertificateHealth::kUntrusted;
  } else if (check.info.notAfter <= now) {
    check.health = CertificateHealth::kExpired;
  } else if (check.info.notBefore > now) {
    check.health = CertificateHealth::kNotYetValid;
  } else if (check.info.notAfter <= now + renewBefore) {
    check.health = CertificateHealth::kRenewDue;
  }
  return check;
}

StatusOr<std::string> randomBytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return internalError(opensslError("random bytes"));
  }
  return out;
}

}  // namespace kthw::runtime
