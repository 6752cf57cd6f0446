#include "resources/certificate_bundle.h"

#include <utility>

namespace kthw::resources {
namespace {
constexpr std::pair<std::string_view, KeyAlgorithm> kAlgorithms[] = {
    {"RSA-2048", KeyAlgorithm::kRsa2048},     {"RSA-3072", KeyAlgorithm::kRsa3072},
    {"RSA-4096", KeyAlgorithm::kRsa4096},     {"ECDSA-P256", KeyAlgorithm::kEcdsaP256},
    {"ECDSA-P384", KeyAlgorithm::kEcdsaP384}, {"ECDSA-P521", KeyAlgorithm::kEcdsaP521}};
}  // namespace

std::string_view keyAlgorithmName(KeyAlgorithm a) {
  for (const auto& [name, value] : kAlgorithms) {
    if (value == a) return name;
  }
  return "unknown";
}

std::optional<KeyAlgorithm> parseKeyAlgorithm(std::string_view s) {
  for (const auto& [name, value] : kAlgorithms) {
    if (name == s) return value;
  }
  return std::nullopt;
}

std::string_view contentKindName(ContentKind k) {
  switch (k) {
    case ContentKind::kCertificate:
      return "certificate";
    case ContentKind::kKey:
      return "key";
    case ContentKind::kPublicKey:
      return "publicKey";
    case ContentKind::kKubeconfig:
      return "kubeconfig";
    case ContentKind::kEncryptionConfig:
      return "encryptionConfig";
  }
  return "unknown";
}

bool isSecretContent(ContentKind k) {
  return k == ContentKind::kKey || k == ContentKind::kKubeconfig ||
         k == ContentKind::kEncryptionConfig;
}

unsigned defaultFileMode(ContentKind k) { return isSecretContent(k) ? 0600 : 0644; }

}  // namespace kthw::resources
