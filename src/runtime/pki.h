#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/base64.h"

namespace kthw::runtime {

// How far before the moment of issue a certificate kthw issues becomes valid, so that a host whose
// clock is a little behind accepts it at once.
inline constexpr std::chrono::minutes kNotBeforeBackdate{5};

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
  // The whole names as RFC 2253 writes them ("CN=admin,O=system:masters"), in ASCII: bytes
  // outside it and control characters are escaped, so a name read from a host is safe to print.
  std::string subject;
  std::string issuer;
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

// Whether `certPem` chains to `authorityPem`, a self-signed CA (the certificate may be that CA
// itself), by OpenSSL's verifier: signatures, issuer names and the CA's constraints. Validity
// periods are left to the caller, who has a clock (see checkCertificate). FailedPrecondition with
// the verifier's reason when it does not chain; InvalidArgument when a PEM does not parse.
Status verifyChain(const std::string& certPem, const std::string& authorityPem);

// How a certificate stands at a given time, worst first.
enum class CertificateHealth { kUntrusted, kExpired, kNotYetValid, kRenewDue, kValid };
// "untrusted", "expired", "not-yet-valid", "renew-due", "valid".
std::string_view certificateHealthName(CertificateHealth h);

// One certificate judged against its authority at a point in time: what `kthw certs` (and
// anything else that audits certificates) reports.
struct CertificateCheck {
  CertificateInfo info;
  int64_t daysLeft = 0;  // whole days from now to not-after, rounded down; negative once expired
  Status chain;          // verifyChain's answer
  CertificateHealth health = CertificateHealth::kValid;
};

// Parses `certPem` and judges it at `now`: untrusted when it does not chain to `authorityPem`,
// expired at or past not-after, not yet valid before not-before, renew-due when not-after falls
// within `renewBefore` of `now`, else valid (the first that applies). InvalidArgument when
// `certPem` is not a certificate; an unreadable authority makes the certificate untrusted.
StatusOr<CertificateCheck> checkCertificate(const std::string& certPem,
                                            const std::string& authorityPem,
                                            std::chrono::seconds renewBefore,
                                            std::chrono::system_clock::time_point now);

// Cryptographically random bytes (OpenSSL's DRBG).
StatusOr<std::string> randomBytes(size_t count);

}  // namespace kthw::runtime
