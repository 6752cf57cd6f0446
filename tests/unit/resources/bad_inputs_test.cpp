// A table of bad inputs. Each case is a whole YAML file and the exact first diagnostic it must
// produce: FILE:LINE:COL: FIELD.PATH: message. The cases cover the loader, the schemas and the
// cross-document checks.
//
// Each YAML line is one C++ string literal, and the line a diagnostic names carries a
// "// line N" comment, so that every expected position can be checked by reading the case.
#include <gtest/gtest.h>

#include "test_util.h"

namespace kthw::resources {
namespace {

struct BadInput {
  const char* name;
  std::string yaml;
  std::string expected;  // the full first diagnostic, or a clear prefix of it
};

// A Host document with `spec` appended; the document's first line is line 1, `spec` starts at
// line 9.
std::string host(const std::string& spec) {
  return "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {role: "
         "controller}\nspec:\n  address: 10.0.1.10\n  ssh: {identityFile: /k}\n" +
         spec;
}

// A valid Host "h" labelled role=controller, as a second document appended after the document
// under test, so that the lines of the document under test are unchanged.
constexpr const char* kHostH =
    "---\n"
    "apiVersion: kthw.dev/v1alpha1\n"
    "kind: Host\n"
    "metadata: {name: h, labels: {role: controller}}\n"
    "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n";

// A kthw.dev/v1alpha1 document of `kind` named x; `spec` starts at line 5.
std::string kthw(const std::string& kind, const std::string& spec) {
  return "apiVersion: kthw.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: x}\nspec:\n" + spec;
}

// A CertificateBundle with the authority "ca" on line 5; `rest` starts at line 6.
std::string bundle(const std::string& rest) {
  return kthw("CertificateBundle", "  authorities: [{name: ca, commonName: ca}]\n" + rest);
}

// A ControlPlaneService of `component` on the Host "h" (appended as kHostH); `rest` starts at
// line 7.
std::string service(const std::string& component, const std::string& rest) {
  const std::string spec = "  component: " + component + "\n  hosts: {names: [h]}\n" + rest;
  return kthw("ControlPlaneService", spec) + kHostH;
}

// An rbac.authorization.k8s.io/v1 document named `name` (on line 3, column 18); `body`
// starts at line 4.
std::string rbac(const std::string& kind, const std::string& name, const std::string& body) {
  return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata: {name: " + name +
         "}\n" + body;
}

const std::vector<BadInput>& cases() {
  static const std::vector<BadInput> kCases = {
      // --- YAML problems (the loader) ---
      {"DuplicateKey",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "kind: Host\n"  // line 3
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:3:1: kind: duplicate key \"kind\" (first at line 2)"},
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
       "apiVersion: rbac.authorization.k8s.io/v1beta1\n"  // line 1
       "kind: ClusterRole\n"
       "metadata: {name: r}\n"
       "rules: []\n",
       "bad.yaml:1:13: apiVersion: \"rbac.authorization.k8s.io/v1beta1\" is not served for "
       "ClusterRole; use rbac.authorization.k8s.io/v1 (rbac.authorization.k8s.io/v1beta1 was "
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
       "bad.yaml:6:24: spec.defaults.validity: must be a duration such as 8760h or 30m, got "
       "\"1y\""},

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

      // --- cross-document checks ---
      {"DuplicateHostName", host("") + kHostH,  // the second "h" is on line 12
       "bad.yaml:12:18: metadata.name: duplicate Host \"h\" (first defined at bad.yaml:4)"},
      {"SelectorMatchesNoHost",
       bundle("  files:\n"
              "    - path: /etc/ca.pem\n"
              "      hosts:\n"
              "        selector:\n"  // line 9
              "          role: worker\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:10:11: spec.files[0].hosts.selector: selector role=worker matches no Host"},
      {"LoadBalancerHostMissing",
       kthw("LoadBalancer",
            "  host: lb-0\n"  // line 5
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n") +
           kHostH,
       "bad.yaml:5:9: spec.host: no Host named \"lb-0\""},
      {"IssuerMissing",
       bundle("  certificates:\n"
              "    - name: c\n"
              "      issuer: etcd-ca\n"  // line 8
              "      commonName: c\n"
              "      usages: [client]\n"),
       "bad.yaml:8:15: spec.certificates[0].issuer: no authority named \"etcd-ca\""},
      {"KubeconfigCertificateMissing",
       bundle("  kubeconfigs:\n"
              "    - name: admin\n"
              "      certificate: admin\n"  // line 8
              "      server: https://10.0.1.30:6443\n"),
       "bad.yaml:8:20: spec.kubeconfigs[0].certificate: no certificate named \"admin\""},
      {"KubeconfigServerOnlyCertificate",
       bundle("  certificates:\n"
              "    - {name: api, issuer: ca, commonName: api, usages: [server]}\n"
              "  kubeconfigs:\n"
              "    - name: admin\n"
              "      certificate: api\n"  // line 10
              "      server: https://10.0.1.30:6443\n"),
       "bad.yaml:10:20: spec.kubeconfigs[0].certificate: certificate \"api\" lacks the client "
       "usage a kubeconfig needs"},
      {"KubeconfigServerNotHttps",
       bundle("  certificates:\n"
              "    - {name: admin, issuer: ca, commonName: admin, usages: [client]}\n"
              "  kubeconfigs:\n"
              "    - name: admin\n"
              "      certificate: admin\n"
              "      server: http://10.0.1.30:8080\n"),  // line 11
       "bad.yaml:11:15: spec.kubeconfigs[0].server: the server must be an https:// URL"},
      {"FileContentMissing",
       bundle("  files:\n"
              "    - path: /etc/etcd-ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: etcd-ca}\n") +  // line 9
           kHostH,
       "bad.yaml:9:30: spec.files[0].content.certificate: no certificate named \"etcd-ca\" in "
       "this bundle"},
      {"SamePathTwiceOnOneHost",
       bundle("  files:\n"
              "    - path: /usr/bin/etcd\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           "---\n" +  // line 10; the service's line N is line N + 10
           service("etcd",
                   "  binary:\n"
                   "    path: /usr/bin/etcd\n"),  // line 18
       "bad.yaml:18:11: spec.binary.path: /usr/bin/etcd on host h is also placed by "
       "CertificateBundle/x spec.files[0]"},
      {"UrlBinaryWithoutChecksum",
       service("etcd",
               "  binary:\n"
               "    path: /usr/bin/etcd\n"  // line 8
               "    url: https://example.com/etcd\n"),
       "bad.yaml:8:5: spec.binary.sha256: a binary fetched from a URL needs sha256 (pinned) or "
       "sha256URL (published checksum)"},
      {"UrlAndFile",
       service("etcd",
               "  binary:\n"
               "    path: /usr/bin/etcd\n"  // line 8
               "    url: https://example.com/etcd\n"
               "    sha256URL: https://example.com/etcd.sha256\n"
               "    file: ./etcd\n"),
       "bad.yaml:11:11: spec.binary.file: set url or file, not both"},
      {"AdvertiseAddressNotAnIp",  // ${host.hostname} falls back to the name, "h"
       service("kube-apiserver",
               "  binary: {path: /usr/bin/kube-apiserver}\n"
               "  flags:\n"
               "    advertise-address: ${host.hostname}\n"),  // line 9
       "bad.yaml:9:24: spec.flags.advertise-address: \"h\" is not an IP address (on host h)"},
      {"ServiceCidrOverlapsClusterCidr",
       service("kube-controller-manager",
               "  binary: {path: /usr/bin/kube-controller-manager}\n"
               "  flags:\n"
               "    service-cluster-ip-range: 10.32.0.0/24\n"  // line 9
               "    cluster-cidr: 10.32.0.0/16\n"),            // line 10
       "bad.yaml:10:19: spec.flags.cluster-cidr: cluster CIDR 10.32.0.0/16 overlaps the "
       "service CIDR 10.32.0.0/24 (bad.yaml:9)"},
      {"SubstitutionUnknownHostField",
       service("kube-apiserver",
               "  binary: {path: /usr/bin/kube-apiserver}\n"
               "  flags:\n"
               "    bind-address: \"${host.zone}\"\n"),  // line 9
       "bad.yaml:9:20: spec.flags.bind-address: host has no field \"zone\" (known: name, "
       "address, internalIP, hostname, labels.KEY)"},
      {"SubstitutionUnknownLoadBalancer",
       service("kube-scheduler",
               "  binary: {path: /usr/bin/kube-scheduler}\n"
               "  flags:\n"
               "    master: https://${loadBalancer.api.address}:6443\n"),  // line 9
       "bad.yaml:9:21: spec.flags.master: no LoadBalancer named \"api\""},
      {"SubstitutionSelectorMatchesNothing",  // the column is the selector's "("
       service(
           "kube-apiserver",
           "  binary: {path: /usr/bin/kube-apiserver}\n"
           "  flags:\n"
           "    etcd-servers: ${join(hosts(role=etcd), '{internalIP}:2379', ',')}\n"),  // line 9
       "bad.yaml:9:31: spec.flags.etcd-servers: selector role=etcd matches no Host"},
      {"SubstitutionListInAScalar",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    initial-cluster: ${hosts(role=controller).name}\n"),  // line 9
       "bad.yaml:9:22: spec.flags.initial-cluster: ${hosts(role=controller).name} is a list; use "
       "it as a whole list item or inside join()"},
      {"UnclosedSubstitution",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  flags:\n"
               "    name: ${host.name\n"),  // line 9
       "bad.yaml:9:11: spec.flags.name: unclosed ${ (no matching })"},
      {"HostSubstitutionInBundle",
       bundle("  certificates:\n"
              "    - name: api\n"
              "      issuer: ca\n"
              "      commonName: api\n"
              "      usages: [server]\n"
              "      ipAddresses:\n"
              "        - \"${host.internalIP}\"\n") +  // line 12
           kHostH,
       "bad.yaml:12:12: spec.certificates[0].ipAddresses[0]: ${host.internalIP} needs a host; "
       "only ControlPlaneService fields are rendered per host"},
      {"RoleRefToUndeclaredRole",
       rbac("ClusterRoleBinding", "b",
            "roleRef:\n"
            "  apiGroup: rbac.authorization.k8s.io\n"
            "  kind: ClusterRole\n"
            "  name: my-role\n"),  // line 7
       "bad.yaml:7:9: roleRef.name: no ClusterRole \"my-role\" in the desired state, and it is "
       "not a default role"},
      {"DuplicateClusterRole",
       rbac("ClusterRole", "r", "rules: []\n") + "---\n" +  // the second "r" is on line 8
           rbac("ClusterRole", "r", "rules: []\n"),
       "bad.yaml:8:18: metadata.name: duplicate ClusterRole \"r\" (first defined at bad.yaml:3)"},

      // --- positions that point at the field itself, not its parent ---
      {"NestedDuplicateKey", host("  address: 10.0.1.11\n"),  // line 9
       "bad.yaml:9:3: spec.address: duplicate key \"address\" (first at line 7)"},
      {"AliasOnAScalarReportsOnlyTheAlias",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: &a 10.0.1.10\n"
       "  hostname: *a\n"  // line 6
       "  ssh: {identityFile: /k}\n",
       "bad.yaml:6:13: spec.hostname: YAML aliases are not supported; write the value out"},
      {"SecondNameInTargetNamesNoHost",
       kthw("ControlPlaneService",
            "  component: etcd\n"
            "  hosts:\n"
            "    names:\n"
            "      - h\n"
            "      - h2\n"  // line 9
            "  binary: {path: /usr/bin/etcd}\n") +
           kHostH,
       "bad.yaml:9:9: spec.hosts.names[1]: no Host named \"h2\""},
      {"KeyFileReadableByOthers",
       bundle("  certificates: [{name: k, issuer: ca, commonName: k, usages: [client]}]\n"
              "  files:\n"
              "    - path: /etc/k.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {key: k}\n"
              "      mode: \"0644\"\n") +  // line 11
           kHostH,
       "bad.yaml:11:13: spec.files[0].mode: private material must not be readable by group or "
       "others; use \"0600\""},
      {"SameComponentTwiceOnOneHost",
       service("etcd", "  binary: {path: /usr/bin/etcd}\n") +
           "---\n"  // line 13
           "apiVersion: kthw.dev/v1alpha1\n"
           "kind: ControlPlaneService\n"
           "metadata: {name: etcd-again}\n"
           "spec:\n"
           "  component: etcd\n"  // line 18
           "  hosts: {names: [h]}\n"
           "  binary: {path: /usr/local/bin/etcd}\n",
       "bad.yaml:18:14: spec.component: etcd on host h is already run by "
       "ControlPlaneService/x"},
      {"NumericAddressNotIPv4",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.300\n"  // line 5
       "  ssh: {identityFile: /k}\n",
       "bad.yaml:5:12: spec.address: \"10.0.1.300\" is not a valid IPv4 address"},
      {"NoWayToAuthenticate",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh: {user: admin}\n",  // line 6
       "bad.yaml:6:8: spec.ssh: set identityFile or useAgent: true so that kthw can "
       "authenticate"},
      {"DuplicateEtcHostsEntry",
       host("  etcHosts:\n"
            "    - {ip: 10.0.1.20, names: [a]}\n"
            "    - {ip: 10.0.1.20, names: [b]}\n"),  // line 11
       "bad.yaml:11:12: spec.etcHosts[1].ip: duplicate /etc/hosts entry for 10.0.1.20"},
      {"BadSysctlNameWithDots",
       host("  sysctls:\n"
            "    Net.IPv4.ip_forward: \"1\"\n"),  // line 10
       "bad.yaml:10:26: spec.sysctls[\"Net.IPv4.ip_forward\"]: not a sysctl name"},
      {"RenewBeforeNotShorterThanValidity",
       bundle("  certificates:\n"
              "    - name: k\n"
              "      issuer: ca\n"
              "      commonName: k\n"
              "      usages: [client]\n"
              "      validity: 24h\n"
              "      renewBefore: 48h\n"),  // line 12
       "bad.yaml:12:20: spec.certificates[0].renewBefore: must be shorter than the validity"},
      {"HealthAuthorityMissing",
       bundle("") + "---\n" +  // line 6; the service's line N is line N + 6
           service("etcd",
                   "  binary: {path: /usr/bin/etcd}\n"
                   "  health:\n"
                   "    url: https://127.0.0.1:2379/health\n"
                   "    certificateBundle: x\n"
                   "    authority: etcd-ca\n"),  // line 17
       "bad.yaml:17:16: spec.health.authority: no authority named \"etcd-ca\" in x"},
      {"SubstitutionColumnAfterAnEscape",
       service("kube-apiserver",
               "  binary: {path: /usr/bin/kube-apiserver}\n"
               "  flags:\n"
               "    a: \"\\t${host.zone}\"\n"),  // line 9: "$" at column 11
       "bad.yaml:9:11: spec.flags.a: host has no field \"zone\""},
      {"SubstitutionColumnAfterADoubledQuote",
       service("kube-apiserver",
               "  binary: {path: /usr/bin/kube-apiserver}\n"
               "  flags:\n"
               "    b: 'it''s ${host.zone}'\n"),  // line 9: "$" at column 15
       "bad.yaml:9:15: spec.flags.b: host has no field \"zone\""},
      {"SubstitutionInsideABlockScalar",
       service("kube-scheduler",
               "  binary: {path: /usr/bin/kube-scheduler}\n"
               "  configFiles:\n"
               "    - path: /etc/s.yaml\n"
               "      content: |-\n"
               "        x ${host.zone}\n"),  // line 11: "$" at column 11
       "bad.yaml:11:11: spec.configFiles[0].content: host has no field \"zone\""},
      {"SamePathTwiceInOneBundle",
       bundle("  files:\n"
              "    - path: /etc/ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n"
              "    - path: /etc/ca.pem\n"  // line 10
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:10:13: spec.files[1].path: /etc/ca.pem on host h is also placed by "
       "CertificateBundle/x spec.files[0]"},
      {"ApiVersionNotAString",
       "apiVersion: [kthw.dev/v1alpha1]\n"  // line 1
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec: {address: 10.0.1.10, ssh: {identityFile: /k}}\n",
       "bad.yaml:1:13: apiVersion: must be a string"},
      {"PortOutOfRange",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh: {identityFile: /k, port: 99999999999999999999}\n",  // line 6
       "bad.yaml:6:33: spec.ssh.port: 99999999999999999999 is out of range"},
  };
  return kCases;
}

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, NamesFileLineColumnAndField) {
  const BadInput& c = GetParam();
  LoadOutcome o = testing::loadText(c.yaml, "bad.yaml");
  ASSERT_FALSE(o.ok()) << "accepted:\n" << c.yaml;
  EXPECT_EQ(o.errors.front().toString().substr(0, c.expected.size()), c.expected)
      << "all errors:\n"
      << testing::joinErrors(o);
}

INSTANTIATE_TEST_SUITE_P(Table, BadInputTest, ::testing::ValuesIn(cases()),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(BadInputTable, HasAtLeastFortyCases) { EXPECT_GE(cases().size(), 40u); }

}  // namespace
}  // namespace kthw::resources
