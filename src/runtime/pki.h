#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/base64.h"

namespace kthw::runtime {

// Key algorithms kthw issues; names as in the CertificateBundle CRD.
enum class KeyType { kRsa2048, kRsa3072, kRsa4096, kEcdsaP256, kEcdsaP384, kEcdsaP521 };

std::string_view keyTypeName(KeyType t);

// A private key in PKCS#8 PEM. Never logged; summaries use the public key's fingerprint.
struct PrivateKeyPem {
  std::string pem;
};

struct CertificateRequest {
  std::string commonName;
  std::vector<std::string> organizations;
  std::vector<std::string> organizationalUnits;
  std::vector<std::string> countries;
  std::vector<std::string> provinces;
  std::vector<std::string> localities;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;
  bool isCa = false;
  bool serverAuth = false;
  bool clientAuth = false;
  std::chrono::seconds validity{};
};

// What kthw reads back from a certificate to decide whether it still matches its spec.
struct CertificateInfo {
  std::string commonName;
  std::vector<std::string> organizations;
  std::vector<std::string> dnsNames;     // sorted
  std::vector<std::string> ipAddresses;  // sorted, canonical text
  bool isCa = false;
  bool serverAuth = false;
  bool clientAuth = false;
  std::optional<KeyType> keyType;
  std::chrono::system_clock::time_point notBefore;
  std::chrono::system_clock::time_point notAfter;
  std::string issuerCommonName;
  std::string sha256Fingerprint;  // of the DER certificate, "AB:CD:..."
  std::string publicKeySha256;    // of the DER SubjectPublicKeyInfo, hex
};

StatusOr<PrivateKeyPem> generatePrivateKey(KeyType type);
// The public key of a private key, as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
StatusOr<std::string> publicKeyPem(const PrivateKeyPem& key);
StatusOr<KeyType> privateKeyType(const PrivateKeyPem& key);

// A self-signed CA when `issuerCertPem` is empty; otherwise signed by the issuer. `now` is
// injected so tests and renewal decisions need no wall clock.
StatusOr<std::string> issueCertificate(const CertificateRequest& request,
                                       const PrivateKeyPem& subjectKey,
                                       const std::string& issuerCertPem,
                                       const PrivateKeyPem& issuerKey,
                                       std::chrono::system_clock::time_point now);

StatusOr<CertificateInfo> inspectCertificate(const std::string& certPem);
// Whether `certPem` carries a valid signature of `issuerCertPem`'s key and names it as issuer.
bool signedBy(const std::string& certPem, const std::string& issuerCertPem);
// Whether the certificate's public key belongs to `key`.
bool keyMatches(const std::string& certPem, const PrivateKeyPem& key);

// Cryptographically random bytes (OpenSSL's DRBG).
StatusOr<std::string> randomBytes(size_t count);

}  // namespace kthw::runtime
