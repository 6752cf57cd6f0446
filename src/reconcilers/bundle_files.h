#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/bundle_material.h"
#include "reconcilers/host_reconciler.h"
#include "runtime/host_files.h"

namespace kthw::reconcilers {

// One file a bundle places on a host. `content` is unset when its material is still to be
// generated (a diff before the first apply); `summary` describes it without secret bytes.
struct BundleFileContent {
  runtime::FileSpec spec;
  std::optional<std::string> content;
  std::string summary;
  std::string pendingReason;
  bool secret = false;
  resources::ContentKind kind = resources::ContentKind::kCertificate;
  std::string source;  // the bundle's name for what it holds
  Material material = Material::kDerivable;
  // Encryption configs: every key the store created, current and retired.
  std::vector<std::string> knownKeys;
};

// The files of `bundle` that go to `host`, rendered from `material`.
std::vector<BundleFileContent> bundleFilesFor(const resources::DesiredState& state,
                                              const resources::CertificateBundle& bundle,
                                              const BundleMaterial& material,
                                              const resources::Host& host);

// A kubeconfig with the CA, client certificate and key embedded, as kubectl writes it; through
// yaml_emitter.h, so that no value adds structure.
StatusOr<std::string> renderKubeconfig(const std::string& clusterName, const std::string& server,
                                       const std::string& user, const std::string& caPem,
                                       const std::string& certPem, const std::string& keyPem);
// apiserver.config.k8s.io/v1 EncryptionConfiguration, or the legacy v1 EncryptionConfig.
StatusOr<std::string> renderEncryptionConfig(const resources::EncryptionConfigSpec& spec,
                                             const EncryptionKeys& keys);

// The keys (base64) an encryption config lists in its "secret" fields, YAML or JSON; nothing
// when such a field holds something else, so that no key goes unseen.
std::optional<std::vector<std::string>> encryptionConfigKeys(const std::string& text);

// Kind CertificateBundle on hosts: every file of every bundle, with owner and mode; material is
// prepared once per pass, before the hosts are visited.
//
// The guard: a precious file (see Material) that is on a host with content the store did not
// create is never replaced. Such a host gets a problem on the bundle and none of the bundle's
// files: leaves signed by an authority the host does not trust are of no use there. The plan
// records the bundle and its files there (HostPlan::guarded, guardedFiles), and the services
// that read them are held back on that host. An encryption config may be rewritten when every
// key it lists is one the store created (kthw's own rotation); its content is probed only when
// it differs from what is desired.
class CertificateBundleReconciler : public HostScopedReconciler {
 public:
  CertificateBundleReconciler(const resources::DesiredState& state,
                              const std::map<std::string, BundleMaterial>& material)
      : state_(state), material_(material) {}

  std::string kind() const override { return "CertificateBundle"; }
  void observe(const resources::Host& host, runtime::ProbeRequest& request) const override;
  void diff(const resources::Host& host, const runtime::ProbeResult& observed,
            HostPlan& plan) const override;
  bool guardsHost() const override { return true; }

 private:
  const resources::DesiredState& state_;
  const std::map<std::string, BundleMaterial>& material_;
};

}  // namespace kthw::reconcilers
