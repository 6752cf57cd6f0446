#pragma once
// Invariants of the files kthw generates, shared by the loader fuzzer and its unit test: a file
// read back the way its consumer reads it (systemd for units, a YAML parser for kubeconfigs and
// encryption configs) has exactly the structure the renderer meant, whatever the values in it.
// Each check returns the first violation found, described for a person, or "" when there is none.
#include <string>

#include "reconcilers/bundle_material.h"
#include "resources/control_plane_service.h"
#include "resources/desired_state.h"

namespace kthw::fuzz {

// `unit` as renderUnit wrote it for `service`, read with systemd's rules: every line blank, a
// comment, [Unit]/[Service]/[Install] or Key=Value with a key the renderer emits in that section;
// no lone specifier; exactly one ExecStart= whose argv is the binary, one word per flag ("--name"
// when bare, "--name=..." otherwise, in order), then one word per argument; one word per
// After=/Wants=/WantedBy= and one NAME=value word per Environment= entry.
std::string unitViolation(const std::string& unit, const resources::ControlPlaneService& service);

// What renderKubeconfig was given.
struct KubeconfigInputs {
  std::string cluster;
  std::string server;
  std::string user;
  std::string caPem;
  std::string certPem;
  std::string keyPem;
};

// `yaml` parses as one document with exactly kubectl's top-level keys, one cluster, context and
// user each with exactly their keys, and every value a string equal to what was put in.
std::string kubeconfigViolation(const std::string& yaml, const KubeconfigInputs& inputs);

// `yaml` parses as one EncryptionConfiguration (or legacy EncryptionConfig) with exactly the
// expected keys: one rule with the spec's resources, the spec's provider with `keys` in order,
// then identity.
std::string encryptionConfigViolation(const std::string& yaml,
                                      const resources::EncryptionConfigSpec& spec,
                                      const reconcilers::EncryptionKeys& keys);

// Renders the unit of every service on every host it selects, and every kubeconfig and
// encryption config of every bundle (from placeholder key material: nothing is generated), and
// checks each as above. A value a renderer refuses is not a violation: nothing is written then.
std::string renderViolation(const resources::DesiredState& state);

}  // namespace kthw::fuzz
