// checkCertificate and verifyChain: what kthw certs reports about each certificate, against CAs
// issued here with kthw's own PKI functions and a fixed clock.
#include <gtest/gtest.h>

#include "runtime/pki.h"

namespace kthw::runtime {
namespace {

using Clock = std::chrono::system_clock;
using std::chrono::hours;

constexpr hours kDay(24);
// A whole second, so that not-after (kept in seconds) is exactly `now` + validity.
const Clock::time_point kNow = Clock::from_time_t(1'800'000'000);

struct Issued {
  PrivateKeyPem key;
  std::string pem;
};

Issued issueCa(const std::string& commonName, Clock::time_point now = kNow) {
  auto key = generatePrivateKey(KeyType::kEcdsaP256);
  EXPECT_TRUE(key.ok());
  CertificateRequest r;
  r.commonName = commonName;
  r.organizations = {"Kubernetes"};
  r.isCa = true;
  r.validity = 3650 * kDay;
  auto pem = issueCertificate(r, *key, "", *key, now);
  EXPECT_TRUE(pem.ok()) << pem.status().message();
  return {*key, *pem};
}

std::string issueLeaf(const Issued& ca, hours validity, const std::string& commonName = "admin",
                      Clock::time_point now = kNow) {
  auto key = generatePrivateKey(KeyType::kEcdsaP256);
  EXPECT_TRUE(key.ok());
  CertificateRequest r;
  r.commonName = commonName;
  r.organizations = {"system:masters"};
  r.clientAuth = true;
  r.validity = validity;
  auto pem = issueCertificate(r, *key, ca.pem, ca.key, now);
  EXPECT_TRUE(pem.ok()) << pem.status().message();
  return *pem;
}

TEST(CertificateCheck, ValidLeafReportsNamesAndDaysLeft) {
  const Issued ca = issueCa("Kubernetes");
  auto check = checkCertificate(issueLeaf(ca, 365 * kDay), ca.pem, 30 * kDay, kNow);
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_EQ(check->health, CertificateHealth::kValid);
  EXPECT_TRUE(check->chain.ok()) << check->chain.message();
  EXPECT_EQ(check->daysLeft, 365);
  EXPECT_EQ(check->info.subject, "CN=admin,O=system:masters");
  EXPECT_EQ(check->info.issuer, "CN=Kubernetes,O=Kubernetes");
  EXPECT_EQ(check->info.notAfter, kNow + 365 * kDay);
}

TEST(CertificateCheck, LeafWithinRenewBeforeIsRenewDue) {
  const Issued ca = issueCa("Kubernetes");
  const std::string leaf = issueLeaf(ca, 10 * kDay);
  auto check = checkCertificate(leaf, ca.pem, 30 * kDay, kNow);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->health, CertificateHealth::kRenewDue);
  EXPECT_EQ(check->daysLeft, 10);
  // The same certificate with a shorter window is fine.
  EXPECT_EQ(checkCertificate(leaf, ca.pem, 9 * kDay, kNow)->health, CertificateHealth::kValid);
}

TEST(CertificateCheck, ExpiredAndNotYetValidFollowTheGivenClock) {
  const Issued ca = issueCa("Kubernetes");
  const std::string leaf = issueLeaf(ca, 10 * kDay);
  auto expired = checkCertificate(leaf, ca.pem, 30 * kDay, kNow + 10 * kDay + hours(1));
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->health, CertificateHealth::kExpired);
  EXPECT_EQ(expired->daysLeft, -1);
  // Expiry does not hide the chain: an expired certificate of the right CA still chains.
  EXPECT_TRUE(expired->chain.ok());
  auto early = checkCertificate(leaf, ca.pem, 30 * kDay, kNow - kDay);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->health, CertificateHealth::kNotYetValid);
}

TEST(CertificateCheck, LeafOfAnotherCaWithTheSameNameIsUntrusted) {
  const Issued ours = issueCa("Kubernetes");
  const Issued theirs = issueCa("Kubernetes");
  const std::string leaf = issueLeaf(theirs, 365 * kDay);
  auto check = checkCertificate(leaf, ours.pem, 30 * kDay, kNow);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->health, CertificateHealth::kUntrusted);
  EXPECT_FALSE(check->chain.ok());
  // OpenSSL's words: the authority key identifier points at no certificate it was given.
  EXPECT_EQ(check->chain.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(check->chain.message(), "unable to get local issuer certificate");
  // Untrusted outranks every date: an untrusted certificate near expiry is reported untrusted.
  EXPECT_EQ(checkCertificate(issueLeaf(theirs, 2 * kDay), ours.pem, 30 * kDay, kNow)->health,
            CertificateHealth::kUntrusted);
  EXPECT_TRUE(verifyChain(leaf, theirs.pem).ok());
}

TEST(CertificateCheck, AnAuthorityChainsToItselfOnly) {
  const Issued ca = issueCa("Kubernetes");
  const Issued other = issueCa("Kubernetes");
  EXPECT_TRUE(verifyChain(ca.pem, ca.pem).ok());
  auto self = checkCertificate(ca.pem, ca.pem, 30 * kDay, kNow);
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(self->health, CertificateHealth::kValid);
  EXPECT_EQ(self->daysLeft, 3650);
  auto replaced = checkCertificate(other.pem, ca.pem, 30 * kDay, kNow);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->health, CertificateHealth::kUntrusted);
  // A leaf is no authority: a certificate "issued" by a leaf does not chain to it.
  EXPECT_FALSE(verifyChain(ca.pem, issueLeaf(ca, 365 * kDay)).ok());
}

TEST(CertificateCheck, HostileNamesAreEscapedForPrinting) {
  auto key = generatePrivateKey(KeyType::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  CertificateRequest r;
  r.commonName = "evil\nCN=admin, O=x";
  r.isCa = true;
  r.validity = 10 * kDay;
  auto pem = issueCertificate(r, *key, "", *key, kNow);
  ASSERT_TRUE(pem.ok()) << pem.status().message();
  auto check = checkCertificate(*pem, *pem, kDay, kNow);
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->info.subject.find('\n'), std::string::npos) << check->info.subject;
  EXPECT_NE(check->info.subject.find("\\,"), std::string::npos) << check->info.subject;
}

TEST(CertificateCheck, WhatIsNotACertificateIsAnError) {
  const Issued ca = issueCa("Kubernetes");
  auto check = checkCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                ca.pem, kDay, kNow);
  EXPECT_EQ(check.status().code(), StatusCode::kInvalidArgument);
  // An unreadable authority makes a good certificate untrusted, not an error.
  auto noAuthority = checkCertificate(issueLeaf(ca, 365 * kDay), "", kDay, kNow);
  ASSERT_TRUE(noAuthority.ok());
  EXPECT_EQ(noAuthority->health, CertificateHealth::kUntrusted);
}

TEST(CertificateCheck, HealthNames) {
  EXPECT_EQ(certificateHealthName(CertificateHealth::kRenewDue), "renew-due");
  EXPECT_EQ(certificateHealthName(CertificateHealth::kNotYetValid), "not-yet-valid");
  EXPECT_EQ(certificateHealthName(CertificateHealth::kUntrusted), "untrusted");
}

}  // namespace
}  // namespace kthw::runtime
