#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "resources/types.h"

namespace kthw::resources {

enum class KeyAlgorithm { kRsa2048, kRsa3072, kRsa4096, kEcdsaP256, kEcdsaP384, kEcdsaP521 };

struct Subject {
  std::string commonName;
  std::vector<std::string> organizations;
  std::vector<std::string> organizationalUnits;
  std::vector<std::string> countries;
  std::vector<std::string> provinces;
  std::vector<std::string> localities;

  bool operator==(const Subject&) const = default;
};

struct Authority {
  std::string name;
  Subject subject;
  KeyAlgorithm keyAlgorithm = KeyAlgorithm::kEcdsaP256;
  std::chrono::seconds validity{};
  Mark mark;

  bool operator==(const Authority&) const = default;
};

struct Certificate {
  std::string name;
  std::string issuer;
  Subject subject;
  bool serverAuth = false;
  bool clientAuth = false;
  std::vector<Text> dnsNames;
  std::vector<Text> ipAddresses;
  KeyAlgorithm keyAlgorithm = KeyAlgorithm::kEcdsaP256;
  std::chrono::seconds validity{};
  std::chrono::seconds renewBefore{};
  Mark mark;
  Mark issuerMark;
  FieldMarks marks;

  bool operator==(const Certificate&) const = default;
};

struct KeyPair {
  std::string name;
  KeyAlgorithm keyAlgorithm = KeyAlgorithm::kEcdsaP256;
  Mark mark;

  bool operator==(const KeyPair&) const = default;
};

struct Kubeconfig {
  std::string name;
  std::string certificate;
  std::string user;  // defaults to the certificate's CN
  Text server;
  Mark mark;
  Mark certificateMark;

  bool operator==(const Kubeconfig&) const = default;
};

enum class EncryptionFormat { kEncryptionConfiguration, kLegacyEncryptionConfig };

struct EncryptionConfigSpec {
  std::string name;
  EncryptionFormat format = EncryptionFormat::kEncryptionConfiguration;
  std::string provider;
  std::vector<std::string> resources;
  Mark mark;
  int keyGeneration = 0;
  bool retirePreviousKey = false;

  bool operator==(const EncryptionConfigSpec&) const = default;
};

enum class ContentKind { kCertificate, kKey, kPublicKey, kKubeconfig, kEncryptionConfig };

struct BundleFile {
  std::string path;
  HostTarget hosts;
  ContentKind kind = ContentKind::kCertificate;
  std::string source;  // name of the certificate, key pair, kubeconfig, ...
  FileAttributes attributes;
  Mark mark;
  Mark sourceMark;
  std::string sourcePath;
  FieldMarks marks;

  bool operator==(const BundleFile&) const = default;
};

// spec.sealedStore: the whole secret store as one age-encrypted file beside the desired state.
// Paths are kept as written: `file` is resolved against the directory of the document that
// declares it (marks.of("file").fileName()), `identityFile` has ~/ expanded where it is used.
struct SealedStore {
  std::string file;
  std::string identityFile;
  std::vector<std::string> recipients;  // age1... public keys besides the identity's own
  std::vector<Mark> recipientMarks;     // one per recipient
  FieldMarks marks;                     // of the sealedStore object and its fields

  bool operator==(const SealedStore&) const = default;
};

struct CertificateBundle {
  ObjectMeta metadata;
  std::string clusterName;
  std::string secretStore;
  std::optional<SealedStore> sealedStore;
  std::vector<Authority> authorities;
  std::vector<Certificate> certificates;
  std::vector<KeyPair> keyPairs;
  std::vector<Kubeconfig> kubeconfigs;
  std::vector<EncryptionConfigSpec> encryptionConfigs;
  std::vector<BundleFile> files;

  const std::string& name() const { return metadata.name; }

  bool operator==(const CertificateBundle&) const = default;
};

std::string_view keyAlgorithmName(KeyAlgorithm a);
std::optional<KeyAlgorithm> parseKeyAlgorithm(std::string_view s);
std::string_view contentKindName(ContentKind k);
// Whether files of this kind carry private material (written 0600 unless told stricter).
bool isSecretContent(ContentKind k);
// The mode of a file that sets none (the CRD's rule for spec.files[].mode): 0600 for private
// material, 0644 otherwise. A rule rather than a schema default, because it depends on which
// content the file carries, and a structural schema's default is one constant per field.
unsigned defaultFileMode(ContentKind k);

}  // namespace kthw::resources
