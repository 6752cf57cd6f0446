// Reading certificates, and checking them against their authority, their key and the clock.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>

#include "runtime/digest.h"
#include "runtime/pki_openssl.h"

namespace kthw::runtime {
namespace {

using pki_openssl::Bio;
using pki_openssl::bioString;
using pki_openssl::keyTypeOf;
using pki_openssl::loadCert;
using pki_openssl::loadKey;
using pki_openssl::opensslError;
using pki_openssl::Pkey;
using pki_openssl::X509Ptr;
using pki_openssl::X509StoreCtxPtr;
using pki_openssl::X509StorePtr;

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
  constexpr int64_t kDay = int64_t{24} * 60 * 60;
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

}  // namespace kthw::runtime
