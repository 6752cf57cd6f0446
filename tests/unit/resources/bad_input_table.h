#pragma once
// The table of bad inputs, shared by bad_inputs_test.cpp (what the loader and the schemas catch)
// and bad_references_test.cpp (what the cross-document checks catch). Each case is a whole YAML
// file and the exact first diagnostic it must produce: FILE:LINE:COL: FIELD.PATH: message.
//
// Each YAML line is one C++ string literal, and the line a diagnostic names carries a
// "// line N" comment, so that every expected position can be checked by reading the case.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "test_util.h"

namespace kthw::resources::testing {

struct BadInput {
  const char* name;
  std::string yaml;
  std::string expected;  // the full first diagnostic, or a clear prefix of it
};

// A Host document with `spec` appended; the document's first line is line 1, `spec` starts at
// line 9.
inline std::string host(const std::string& spec) {
  return "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {role: "
         "controller}\nspec:\n  address: 10.0.1.10\n  ssh: {identityFile: /k}\n" +
         spec;
}

// A valid Host "h" labelled role=controller, as a second document appended after the document
// under test, so that the lines of the document under test are unchanged.
inline constexpr const char* kHostH =
    "---\n"
    "apiVersion: kthw.dev/v1alpha1\n"
    "kind: Host\n"
    "metadata: {name: h, labels: {role: controller}}\n"
    "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n";

// A kthw.dev/v1alpha1 document of `kind` named x; `spec` starts at line 5.
inline std::string kthw(const std::string& kind, const std::string& spec) {
  return "apiVersion: kthw.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: x}\nspec:\n" + spec;
}

// A CertificateBundle with the authority "ca" on line 5; `rest` starts at line 6.
inline std::string bundle(const std::string& rest) {
  return kthw("CertificateBundle", "  authorities: [{name: ca, commonName: ca}]\n" + rest);
}

// A ControlPlaneService of `component` on the Host "h" (appended as kHostH); `rest` starts at
// line 7.
inline std::string service(const std::string& component, const std::string& rest) {
  const std::string spec = "  component: " + component + "\n  hosts: {names: [h]}\n" + rest;
  return kthw("ControlPlaneService", spec) + kHostH;
}

// An rbac.authorization.k8s.io/v1 document named `name` (on line 3, column 18); `body`
// starts at line 4.
inline std::string rbac(const std::string& kind, const std::string& name, const std::string& body) {
  return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: {name: " + name +
         "}\n" + body;
}

inline void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

const std::vector<BadInput>& schemaCases();
const std::vector<BadInput>& referenceCases();

}  // namespace kthw::resources::testing
