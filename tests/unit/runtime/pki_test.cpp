#include "runtime/pki.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "runtime/local_transport.h"

namespace kthw::runtime {
namespace {

using Clock = std::chrono::system_clock;

class PkiTest : public ::testing::TestWithParam<KeyType> {};

// Runs the openssl command-line tool as an independent verifier of what kthw issued.
ExecResult openssl(const std::string& args, const std::string& input = "") {
  auto r = runProcess({"/bin/sh", "-c", "openssl " + args}, input, std::chrono::seconds(30));
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : ExecResult{};
}

// ctest runs each parameter in its own process, in parallel: the file names carry the pid.
std::string writeTemp(const std::string& name, const std::string& content) {
  const std::string path =
      ::testing::TempDir() + "/kthw-pki-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << content;
  return path;
}

TEST_P(PkiTest, IssuesACaAndALeafThatOpensslVerifies) {
  const KeyType type = GetParam();
  auto caKey = generatePrivateKey(type);
  ASSERT_TRUE(caKey.ok()) << caKey.status().message();
  EXPECT_EQ(*privateKeyType(*caKey), type);
  CertificateRequest ca;
  ca.commonName = "Kubernetes";
  ca.organizations = {"Kubernetes"};
  ca.isCa = true;
  ca.validity = std::chrono::hours(24 * 365);
  const auto now = Clock::now();
  auto caPem = issueCertificate(ca, *caKey, "", *caKey, now);
  ASSERT_TRUE(caPem.ok()) << caPem.status().message();

  auto leafKey = generatePrivateKey(type);
  ASSERT_TRUE(leafKey.ok());
  CertificateRequest leaf;
  leaf.commonName = "kubernetes";
  leaf.organizations = {"Kubernetes", "system:masters"};
  leaf.dnsNames = {"kubernetes", "kubernetes.default.svc.cluster.local"};
  leaf.ipAddresses = {"10.32.0.1", "127.0.0.1"};
  leaf.serverAuth = true;
  leaf.clientAuth = true;
  leaf.validity = std::chrono::hours(24 * 30);
  auto leafPem = issueCertificate(leaf, *leafKey, *caPem, *caKey, now);
  ASSERT_TRUE(leafPem.ok()) << leafPem.status().message();

  EXPECT_TRUE(signedBy(*leafPem, *caPem));
  EXPECT_FALSE(signedBy(*caPem, *leafPem));
  EXPECT_TRUE(keyMatches(*leafPem, *leafKey));
  EXPECT_FALSE(keyMatches(*leafPem, *caKey));

  const std::string caFile = writeTemp("ca.pem", *caPem);
  const std::string leafFile = writeTemp("leaf.pem", *leafPem);
  auto verify = openssl("verify -CAfile " + caFile + " " + leafFile);
  EXPECT_EQ(verify.exitStatus, 0) << verify.out << verify.err;
  auto text = openssl("x509 -noout -text -in " + leafFile);
  EXPECT_NE(text.out.find("DNS:kubernetes, DNS:kubernetes.default.svc.cluster.local, "
                          "IP Address:10.32.0.1, IP Address:127.0.0.1"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("TLS Web Server Authentication, TLS Web Client Authentication"),
            std::string::npos);
  EXPECT_NE(text.out.find("CA:FALSE"), std::string::npos);
  auto caText = openssl("x509 -noout -text -in " + caFile);
  EXPECT_NE(caText.out.find("CA:TRUE"), std::string::npos);
  EXPECT_NE(caText.out.find("Certificate Sign"), std::string::npos);

  auto info = inspectCertificate(*leafPem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->commonName, "kubernetes");
  EXPECT_EQ(info->organizations, (std::vector<std::string>{"Kubernetes", "system:masters"}));
  EXPECT_EQ(info->ipAddresses, (std::vector<std::string>{"10.32.0.1", "127.0.0.1"}));
  EXPECT_TRUE(info->serverAuth);
  EXPECT_TRUE(info->clientAuth);
  EXPECT_FALSE(info->isCa);
  EXPECT_EQ(info->keyType, type);
  EXPECT_EQ(info->issuerCommonName, "Kubernetes");
  const auto lifetime = std::chrono::duration_cast<std::chrono::hours>(info->notAfter - now);
  EXPECT_NEAR(lifetime.count(), 24 * 30, 1);
  std::remove(caFile.c_str());
  std::remove(leafFile.c_str());
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, PkiTest,
                         ::testing::Values(KeyType::kRsa2048, KeyType::kEcdsaP256,
                                           KeyType::kEcdsaP384, KeyType::kEcdsaP521),
                         [](const auto& param) {
                           std::string n(keyTypeName(param.param));
                           n.erase(std::remove(n.begin(), n.end(), '-'), n.end());
                           return n;
                         });

TEST(Pki, PublicKeyOfAPrivateKey) {
  auto key = generatePrivateKey(KeyType::kEcdsaP256);
  ASSERT_TRUE(key.ok());
  auto pub = publicKeyPem(*key);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(key->pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

TEST(Pki, RandomBytesAndBase64) {
  auto a = randomBytes(32);
  auto b = randomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(base64Encode(*a).size(), 44u);
  EXPECT_EQ(base64Encode("kthw"), "a3Rodw==");
}

}  // namespace
}  // namespace kthw::runtime
