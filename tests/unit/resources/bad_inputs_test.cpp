// Bad inputs the loader and the schemas catch; see bad_input_table.h.
#include "bad_input_table.h"

namespace kthw::resources::testing {

const std::vector<BadInput>& schemaCases() {
  static const std::vector<BadInput> kCases = {
      // --- YAML problems (the loader) ---
      {"DuplicateKey",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "kind: Host\n"  // line 3
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:3:1: kind: duplicate key \"kind\" (first at line 2); if a new document "
       "starts here, a \"---\" line is missing before it"},
      {"Alias",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    data-dir: &dir /var/lib/etcd\n"
               "    wal-dir: *dir\n"),  // line 10
       "bad.yaml:10:14: spec.flags.wal-dir: YAML aliases are not supported; write the value out"},
      {"UnknownTag",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh: !ssh {identityFile: /k}\n"),  // line 6
       "bad.yaml:6:8: spec.ssh: YAML tag !ssh is not supported"},
      {"SyntaxError",
       kthw("Host",
            "  address: 10.0.1.10\n"
            " ssh: {identityFile: /k}\n"),  // line 6, indented by one space
       "bad.yaml:6:2: invalid YAML: did not find expected key while parsing a block mapping"},
      {"Yaml11BooleanInAnEnum",  // "no" is in the enum, but kubectl reads it as false
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  unit:\n"
               "    restart: no\n"),  // line 9
       "bad.yaml:9:14: spec.unit.restart: \"no\" reads as a boolean in YAML 1.1 (kubectl); "
       "quote it"},
      {"NestingTooDeep",  // the root mapping is level 1, so the 64th '[' opens level 65
       host("") + "extra: " + std::string(70, '[') + std::string(70, ']') + "\n",  // line 9
       "bad.yaml:9:71: "
       "extra[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
       "...: nesting deeper than 64 levels"},

      // --- document problems ---
      {"ListAsDocument",
       "- apiVersion: kthw.dev/v1alpha1\n"
       "  kind: Host\n",
       "bad.yaml:1:1: a document must be an object with apiVersion, kind, metadata and spec"},
      {"MissingApiVersion",
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:1:1: apiVersion: required field is missing"},
      {"UnknownKind",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Node\n"  // line 2
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10}\n",
       "bad.yaml:2:7: kind: unknown kind \"Node\" (known: Host, CertificateBundle, "
       "ControlPlaneService, LoadBalancer, ClusterRole, ClusterRoleBinding)"},
      {"UnservedKthwVersion",
       "apiVersion: kthw.dev/v1\n"  // line 1
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:1:13: apiVersion: \"kthw.dev/v1\" is not served for Host; use kthw.dev/v1alpha1"},
      {"RemovedRbacVersion",
       "apiVersion: rbac.authorization.k8s.io/v1alpha1\n"  // line 1
       "kind: ClusterRole\n"
       "metadata: {name: r}\n"
       "rules: []\n",
       "bad.yaml:1:13: apiVersion: \"rbac.authorization.k8s.io/v1alpha1\" is not served for "
       "ClusterRole; use rbac.authorization.k8s.io/v1 (rbac.authorization.k8s.io/v1alpha1 was "
       "removed in Kubernetes 1.22)"},
      {"StatusInDesiredState", host("") + "status: {ready: true}\n",  // line 9
       "bad.yaml:9:1: status: status is reported by kthw, not read from the desired state; "
       "remove it"},
      {"MissingSpec",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n",
       "bad.yaml:1:1: spec: required field is missing"},
      {"MissingMetadataName",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {labels: {role: controller}}\n"  // line 3
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:3:11: metadata.name: required field is missing"},
      {"UppercaseName",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: Node-1}\n"  // line 3
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       R"(bad.yaml:3:18: metadata.name: "Node-1" does not match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)"},

      // --- unknown fields ---
      {"UnknownTopLevelField", host("") + "extra: 1\n",  // line 9
       "bad.yaml:9:1: extra: unknown field \"extra\""},
      {"UnknownSpecField", host("  adress: 1.2.3.4\n"),  // line 9
       "bad.yaml:9:3: spec.adress: unknown field \"adress\"; did you mean \"address\"?"},
      {"UnknownSshField",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh:\n"
            "    identityFile: /k\n"
            "    prot: 22\n"),  // line 8
       "bad.yaml:8:5: spec.ssh.prot: unknown field \"prot\"; did you mean \"port\"?"},
      {"UnknownMetadataField",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h, label: {role: controller}}\n"  // line 3
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:3:21: metadata.label: unknown field \"label\"; did you mean \"labels\"?"},
      {"UnknownFieldInListItem",
       host("  etcHosts:\n"
            "    - ip: 10.0.1.1\n"
            "      names: [a]\n"
            "      alias: b\n"),  // line 12
       "bad.yaml:12:7: spec.etcHosts[0].alias: unknown field \"alias\""},

      // --- wrong types ---
      {"PortNotAnInteger",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh: {port: abc, identityFile: /k}\n"),  // line 6
       "bad.yaml:6:15: spec.ssh.port: must be an integer, got string abc"},
      {"ListWhereObject", host("  sysctls: [a, b]\n"),  // line 9
       "bad.yaml:9:12: spec.sysctls: must be an object, got a list"},
      {"ObjectWhereString", host("  hostname: {name: a}\n"),  // line 9
       "bad.yaml:9:13: spec.hostname: must be a string, got an object"},
      {"IntegerWhereString",
       host("  directories:\n"
            "    - {path: /d, mode: 0755}\n"),  // line 10
       "bad.yaml:10:24: spec.directories[0].mode: must be a string, got integer 0755 (quote "
       "it: \"0755\")"},
      {"BooleanWhereString", host("  hostname: true\n"),  // line 9
       "bad.yaml:9:13: spec.hostname: must be a string, got boolean true (quote it: \"true\")"},
      {"NotABoolean",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh:\n"
            "    identityFile: /k\n"
            "    useAgent: yes\n"),  // line 8
       "bad.yaml:8:15: spec.ssh.useAgent: must be a boolean (true or false), got string yes"},

      // --- missing required fields ---
      {"MissingAddress", kthw("Host", "  ssh: {identityFile: /k}\n"),  // line 5
       "bad.yaml:5:3: spec.address: required field is missing"},
      {"MissingIssuer",
       bundle("  certificates:\n"
              "    - name: c\n"  // line 7
              "      commonName: c\n"
              "      usages: [client]\n"),
       "bad.yaml:7:7: spec.certificates[0].issuer: required field is missing"},
      {"MissingSealedStoreIdentity",
       bundle("  sealedStore:\n"
              "    file: store.age\n"),  // line 7
       "bad.yaml:7:5: spec.sealedStore.identityFile: required field is missing"},
      {"MissingRoleRef", rbac("ClusterRoleBinding", "b", "subjects: []\n"),
       "bad.yaml:1:1: roleRef: required field is missing"},

      // --- enums ---
      {"BadTransport", host("  transport: scp\n"),  // line 9
       "bad.yaml:9:14: spec.transport: must be one of: ssh, local; got \"scp\""},
      {"BadHostKeyPolicy",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh:\n"
            "    identityFile: /k\n"
            "    hostKeyPolicy: TOFU\n"),  // line 8
       "bad.yaml:8:20: spec.ssh.hostKeyPolicy: must be one of: Strict, AcceptNew; got \"TOFU\""},
      {"BadKeyAlgorithm", bundle("  defaults: {keyAlgorithm: RSA-1024}\n"),  // line 6
       "bad.yaml:6:28: spec.defaults.keyAlgorithm: must be one of: RSA-2048, RSA-3072, "
       "RSA-4096, ECDSA-P256, ECDSA-P384, ECDSA-P521; got \"RSA-1024\""},
      {"BadImplementation",
       kthw("LoadBalancer",
            "  implementation: envoy\n"  // line 5
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n") +
           kHostH,
       "bad.yaml:5:19: spec.implementation: must be one of: haproxy, nginx; got \"envoy\""},
      {"BadComponent", service("kubelet", "  binary: {path: /usr/bin/kubelet}\n"),  // line 5
       "bad.yaml:5:14: spec.component: must be one of: etcd, kube-apiserver, "
       "kube-controller-manager, kube-scheduler; got \"kubelet\""},

      // --- formats ---
      {"BadEtcHostsIp", host("  etcHosts:\n    - {ip: 10.0.1.300, names: [a]}\n"),  // line 10
       "bad.yaml:10:12: spec.etcHosts[0].ip: must be an IPv4 address, got \"10.0.1.300\""},
      {"BadInternalIp", host("  internalIP: 10.0.1\n"),  // line 9
       "bad.yaml:9:15: spec.internalIP: must be an IPv4 address, got \"10.0.1\""},
      {"FrontendAddressNotIp",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: lb.example.com}\n"  // line 6
            "  backends: {hosts: {names: [h]}}\n") +
           kHostH,
       "bad.yaml:6:23: spec.frontend.address: must be an IPv4 address, got \"lb.example.com\""},
      {"BadHostname", host("  hostname: node_1\n"),  // line 9
       "bad.yaml:9:13: spec.hostname: must be a host name (letters, digits, '-' and '.'), got "
       "\"node_1\""},
      {"BadDuration", bundle("  defaults: {validity: 1y}\n"),  // line 6
       "bad.yaml:6:24: spec.defaults.validity: must be a duration in whole hours, minutes and "
       "seconds, such as 8760h or 1h30m, got \"1y\""},

      // --- patterns ---
      {"ModeNotOctal",
       host("  directories:\n"
            "    - {path: /d, mode: \"999\"}\n"),  // line 10
       "bad.yaml:10:24: spec.directories[0].mode: \"999\" does not match ^0?[0-7]{3}$"},
      {"BadSha256",
       service("etcd",
               "  binary:\n"
               "    path: /usr/bin/etcd\n"
               "    url: https://example.com/etcd\n"
               "    sha256: e3b0c442\n"),  // line 10
       "bad.yaml:10:13: spec.binary.sha256: \"e3b0c442\" does not match ^[a-f0-9]{64}$"},
      {"BadUserName",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh:\n"
            "    identityFile: /k\n"
            "    user: Admin\n"),  // line 8
       "bad.yaml:8:11: spec.ssh.user: \"Admin\" does not match ^[a-z_][a-z0-9_.-]*$"},
      {"BadKernelModule", host("  kernelModules: [br_netfilter, \"nf conntrack\"]\n"),  // line 9
       "bad.yaml:9:33: spec.kernelModules[1]: \"nf conntrack\" does not match ^[A-Za-z0-9_-]+$"},

      // --- minimum, maximum and sizes ---
      {"PortZero",
       kthw("Host",
            "  address: 10.0.1.10\n"
            "  ssh: {port: 0, identityFile: /k}\n"),  // line 6
       "bad.yaml:6:15: spec.ssh.port: must be at least 1, got 0"},
      {"PortTooLarge",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30, port: 70000}\n"  // line 6
            "  backends: {hosts: {names: [h]}}\n") +
           kHostH,
       "bad.yaml:6:40: spec.frontend.port: must be at most 65535, got 70000"},
      {"EmptyUsages",
       bundle("  certificates:\n"
              "    - {name: c, issuer: ca, commonName: c, usages: []}\n"),  // line 7
       "bad.yaml:7:52: spec.certificates[0].usages: must have at least 1 item(s)"},
      {"TwoContentSources",
       bundle("  files:\n"
              "    - path: /etc/ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca, key: ca}\n") +  // line 9
           kHostH,
       "bad.yaml:9:16: spec.files[0].content: must have at most 1 field(s), got 2"},

  };
  return kCases;
}

TEST_P(BadInputTest, NamesFileLineColumnAndField) {
  const BadInput& c = GetParam();
  LoadOutcome o = loadText(c.yaml, "bad.yaml");
  ASSERT_FALSE(o.ok()) << "accepted:\n" << c.yaml;
  EXPECT_EQ(o.errors.front().toString().substr(0, c.expected.size()), c.expected) << "all errors:\n"
                                                                                  << joinErrors(o);
}

INSTANTIATE_TEST_SUITE_P(Schema, BadInputTest, ::testing::ValuesIn(schemaCases()),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(BadInputTable, HasAtLeastFortyCases) {
  EXPECT_GE(schemaCases().size() + referenceCases().size(), 40u);
}

}  // namespace kthw::resources::testing
