// Hostile input: values written to change the meaning of what kthw generates (a line break
// that adds a unit directive, a ';' that adds an nginx directive, YAML that adds a key, a ".."
// that leaves a directory, a name that rewrites a request line, a certificate that expires at
// once). Each is refused where it is read, with FILE:LINE:COL and the field; see
// bad_input_table.h for the format. What is accepted and how it is generated is tested in
// tests/unit/reconcilers/hostile_*_test.cpp.
//
// Where the cases put the value under test (see the helpers in bad_input_table.h): a unit field,
// a flag or `configFiles` at line 9 (service: `binary` is line 7); `args` at line 8; a Host's
// labels at line 5; a LoadBalancer's fifth spec line (healthzProxy, routeCheck, configPath) at
// line 8; a bundle's first line after the authority at line 6 (a kubeconfig at line 8, the first
// file's path at line 7); a Host spec field at line 9; an RBAC name at line 3, column 18.
#include "bad_input_table.h"

namespace kthw::resources::testing {
namespace {

const std::vector<BadInput>& hostileCases() {
  static const std::vector<BadInput> kCases = {
      {"UnitDescriptionNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    description: \"etcd\\nExecStartPre=/bin/sh -c id\"\n"),
       "bad.yaml:9:18: spec.unit.description: contains the control character U+000A at offset 4"},
      {"UnitDescriptionCarriageReturn",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    description: \"etcd\\rExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:18: spec.unit.description: contains the control character U+000D at offset 4"},
      {"UnitDescriptionNul",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    description: \"etcd\\0\"\n"),
       "bad.yaml:9:18: spec.unit.description: contains the control character U+0000 at offset 4"},
      {"UnitDocumentationNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    documentation: \"https://x\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:20: spec.unit.documentation: contains the control character U+000A at offset "
       "9"},
      {"UnitAfterNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    after: [\"network.target\\nExecStartPre=/bin/sh\"]\n"),
       "bad.yaml:9:13: spec.unit.after[0]: contains the control character U+000A at offset 14"},
      {"UnitAfterNotAUnitName",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    after: [\"network.target ExecStartPre=/bin/sh\"]\n"),
       "bad.yaml:9:13: spec.unit.after[0]: \"network.target ExecStartPre=/bin/sh\" does not "
       "match ^[A-Za-z0-9][A-Za-z0-9@._:-]*\\.(service|socket|target|device|mount|automount|swap"
       "|path|timer|slice|scope)$"},
      {"UnitWantsNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    wants: [\"a.service\\nUser=root\"]\n"),
       "bad.yaml:9:13: spec.unit.wants[0]: contains the control character U+000A at offset 9"},
      {"UnitUserNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    user: \"etcd\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:11: spec.unit.user: contains the control character U+000A at offset 4"},
      {"UnitUserNotAName",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    user: \"etcd root\"\n"),
       "bad.yaml:9:11: spec.unit.user: \"etcd root\" does not match ^[a-z_][a-z0-9_.-]*$"},
      {"UnitGroupNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    group: \"etcd\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:12: spec.unit.group: contains the control character U+000A at offset 4"},
      {"UnitWantedByNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    wantedBy: \"multi-user.target\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:15: spec.unit.wantedBy: contains the control character U+000A at offset 17"},
      {"UnitRestartSecNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    restartSec: \"5\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:17: spec.unit.restartSec: contains the control character U+000A at offset 1"},
      {"UnitRestartSecNotATimeSpan",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    restartSec: \"5 ExecStartPre\"\n"),
       "bad.yaml:9:17: spec.unit.restartSec: \"5 ExecStartPre\" does not match "
       "^[0-9]+(ms|s|min|h)?$"},
      {"UnitEnvironmentValueNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    environment: {A: \"x\\nExecStartPre=/bin/sh\"}\n"),
       "bad.yaml:9:22: spec.unit.environment.A: contains the control character U+000A at offset "
       "1"},
      {"UnitEnvironmentNameNotAnIdentifier",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    environment: {\"A B\": x}\n"),
       "bad.yaml:9:19: spec.unit.environment[\"A B\"]: key \"A B\" is not an identifier "
       "(letters, digits and -_./ inside, at most 253 characters)"},
      {"FlagNameNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    \"data-dir\\nExecStartPre\": /x\n"),
       "bad.yaml:9:5: spec.flags[\"data-dir\\nExecStartPre\"]: key "
       "\"data-dir\\nExecStartPre\" is not an identifier (letters, digits and -_./ inside, at "
       "most 253 characters)"},
      {"FlagNameWithSpace",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    \"data dir\": /x\n"),
       "bad.yaml:9:5: spec.flags[\"data dir\"]: key \"data dir\" is not an identifier (letters, "
       "digits and -_./ inside, at most 253 characters)"},
      {"FlagValueNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    data-dir: \"/x\\nExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:15: spec.flags.data-dir: contains the control character U+000A at offset 2"},
      {"FlagValueCarriageReturn",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    data-dir: \"/x\\rExecStartPre=/bin/sh\"\n"),
       "bad.yaml:9:15: spec.flags.data-dir: contains the control character U+000D at offset 2"},
      {"FlagValueNul",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    data-dir: \"/x\\0\"\n"),
       "bad.yaml:9:15: spec.flags.data-dir: contains the control character U+0000 at offset 2"},
      {"FlagValueTab",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    data-dir: \"/x\\ty\"\n"),
       "bad.yaml:9:15: spec.flags.data-dir: contains the control character U+0009 at offset 2"},
      {"ArgNewline",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  args: [\"x\\nExecStartPre=/bin/sh\"]\n"),
       "bad.yaml:8:10: spec.args[0]: contains the control character U+000A at offset 1"},
      {"HostLabelValueNewline",
       "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {zone: "
       "\"a\\nExecStartPre=/bin/sh\"}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:5:18: metadata.labels.zone: contains the control character U+000A at offset 1"},
      {"HostLabelValueWithSpace",
       "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {zone: \"a "
       "b\"}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:5:18: metadata.labels.zone: \"a b\" does not match "
       "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"},
      {"HostLabelKeyNotAnIdentifier",
       "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {\"zone x\": "
       "a}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:5:12: metadata.labels[\"zone x\"]: key \"zone x\" is not an identifier "
       "(letters, digits and -_./ inside, at most 253 characters)"},
      {"HealthzUpstreamWithBrace",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, upstream: \"https://127.0.0.1:6443/healthz; } "
            "server { listen 81\"}\n") +
           kHostH,
       "bad.yaml:8:49: spec.healthzProxy.upstream: \"https://127.0.0.1:6443/healthz; } "
       "server { listen 81\" does not match ^https://[A-Za-z0-9._~:/?#@!&'()*+,;=%\\[\\]-]+$"},
      {"HealthzUpstreamWithNewline",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, upstream: "
            "\"https://127.0.0.1:6443/healthz;\\nroot /\"}\n") +
           kHostH,
       "bad.yaml:8:49: spec.healthzProxy.upstream: contains the control character U+000A at "
       "offset 31"},
      {"HealthzUpstreamWithVariable",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, upstream: \"https://$host/healthz\"}\n") +
           kHostH,
       "bad.yaml:8:49: spec.healthzProxy.upstream: \"https://$host/healthz\" does not match "
       "^https://[A-Za-z0-9._~:/?#@!&'()*+,;=%\\[\\]-]+$"},
      {"HealthzCaFileWithNewline",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, caFile: \"/etc/ca.pem;\\n}\"}\n") +
           kHostH,
       "bad.yaml:8:47: spec.healthzProxy.caFile: contains the control character U+000A at "
       "offset 12"},
      {"HealthzCaFileRelative",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, caFile: \"ca.pem; include /etc/passwd\"}\n") +
           kHostH,
       "bad.yaml:8:47: spec.healthzProxy.caFile: must be an absolute, normalised path (no '.', "
       "'..' or empty segments, no trailing '/'), got \"ca.pem; include /etc/passwd\""},
      {"HealthzServerNameWithSemicolon",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  healthzProxy: {hosts: {names: [h]}, serverName: \"a; root /\"}\n") +
           kHostH,
       "bad.yaml:8:51: spec.healthzProxy.serverName: must be a host name (letters, digits, '-' "
       "and '.'), got \"a; root /\""},
      {"KubeconfigUserNewline",
       bundle("  certificates: [{name: admin, issuer: ca, commonName: admin, usages: [client]}]\n"
              "  kubeconfigs:\n"
              "    - {name: admin, certificate: admin, server: \"https://10.0.1.30:6443\", user: "
              "\"admin\\ninsecure-skip-tls-verify: true\"}\n"),
       "bad.yaml:8:81: spec.kubeconfigs[0].user: contains the control character U+000A at "
       "offset 5"},
      {"KubeconfigServerNewline",
       bundle("  certificates: [{name: admin, issuer: ca, commonName: admin, usages: [client]}]\n"
              "  kubeconfigs:\n"
              "    - {name: admin, certificate: admin, server: \"https://10.0.1.30:6443\\n    "
              "insecure-skip-tls-verify: true\"}\n"),
       "bad.yaml:8:49: spec.kubeconfigs[0].server: contains the control character U+000A at "
       "offset 22"},
      {"KubeconfigCertificateNotAName",
       bundle(
           "  certificates: [{name: admin, issuer: ca, commonName: admin, usages: [client]}]\n"
           "  kubeconfigs:\n"
           "    - {name: admin, certificate: \"admin: x\", server: \"https://10.0.1.30:6443\"}\n"),
       "bad.yaml:8:34: spec.kubeconfigs[0].certificate: \"admin: x\" does not match "
       "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
      {"ClusterNameYaml", bundle("  clusterName: \"k: v\"\n"),
       "bad.yaml:6:16: spec.clusterName: \"k: v\" does not match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
      {"EncryptionResourceNewline",
       bundle("  encryptionConfigs: [{name: e, resources: [\"secrets\\n    - identity: {}\"]}]\n"),
       "bad.yaml:6:45: spec.encryptionConfigs[0].resources[0]: contains the control character "
       "U+000A at offset 7"},
      {"EncryptionResourceNotAResource",
       bundle("  encryptionConfigs: [{name: e, resources: [\"secrets: x\"]}]\n"),
       "bad.yaml:6:45: spec.encryptionConfigs[0].resources[0]: \"secrets: x\" does not match "
       "^(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\\.(\\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?))*$"},
  };
  return kCases;
}

INSTANTIATE_TEST_SUITE_P(Hostile, BadInputTest, ::testing::ValuesIn(hostileCases()),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(HostileInputTable, HasAtLeastThirtyTextCases) { EXPECT_GE(hostileCases().size(), 30u); }

}  // namespace
}  // namespace kthw::resources::testing
