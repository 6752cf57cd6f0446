#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "resources/desired_state.h"

namespace kthw::resources::testing {

// Loads documents from an in-memory YAML text named `fileName`.
inline LoadOutcome loadText(const std::string& yaml, const std::string& fileName = "test.yaml") {
  return buildDesiredState(parseYaml(yaml, fileName));
}

inline std::vector<std::string> errorStrings(const LoadOutcome& outcome) {
  std::vector<std::string> out;
  for (const Diagnostic& d : outcome.errors) out.push_back(d.toString());
  return out;
}

inline std::string joinErrors(const LoadOutcome& outcome) {
  std::string out;
  for (const std::string& e : errorStrings(outcome)) out += e + "\n";
  return out;
}

// The text of a fixture under tests/testdata/ (empty when it cannot be read: the load fails).
inline std::string testdataText(const std::string& name) {
  std::ifstream in(std::string(KTHW_SOURCE_DIR) + "/tests/testdata/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline LoadOutcome loadExample(const std::string& name) {
  std::istringstream none;
  return loadDesiredState({std::string(KTHW_SOURCE_DIR) + "/examples/" + name}, none);
}

// A small valid state that test cases extend.
inline const char* kMinimalHosts = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata:
  name: controller-0
  labels:
    role: controller
spec:
  address: 10.0.1.10
  ssh:
    identityFile: /root/.ssh/id_ed25519
---
apiVersion: kthw.dev/v1alpha1
kind: Host
metadata:
  name: controller-1
  labels:
    role: controller
spec:
  address: 10.0.1.11
  ssh:
    identityFile: /root/.ssh/id_ed25519
)";

}  // namespace kthw::resources::testing
