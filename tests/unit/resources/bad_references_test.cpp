// Bad inputs the cross-document checks catch, and positions that must point at the field
// itself; see bad_input_table.h.
#include "bad_input_table.h"

namespace kthw::resources::testing {

const std::vector<BadInput>& referenceCases() {
  static const std::vector<BadInput> kCases = {
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
      {"SealedStoreRecipientNotAnAgeKey",
       bundle("  sealedStore:\n"
              "    file: store.age\n"
              "    identityFile: ~/.config/kthw/identity.txt\n"
              "    recipients:\n"
              "      - age1qqqq\n"),  // line 10
       "bad.yaml:10:9: spec.sealedStore.recipients[0]: \"age1qqqq\" is not an age public key "
       "(age1 and 58 lower-case bech32 characters, as age-keygen -y prints it)"},
      {"SealedStoreRecipientIsASecretKey",
       bundle("  sealedStore:\n"
              "    file: store.age\n"
              "    identityFile: /k\n"
              "    recipients: [AGE-SECRET-KEY-1QQQQ]\n"),  // line 9
       "bad.yaml:9:18: spec.sealedStore.recipients[0]: this is an age secret key, which must "
       "never be in the desired state; give its public key (age-keygen -y) and remove the secret "
       "key from the file's history"},
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
      {"ProxyJumpNeitherHostNorAddress",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {hostKey: ssh-ed25519 AAAA}\n",  // line 8
       "bad.yaml:8:16: spec.ssh.proxyJump: set host (a Host to jump through) or address "
       "([user@]host[:port] with hostKey), not neither"},
      {"ProxyJumpNamesNoHost",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {host: lb-9}\n",  // line 8
       "bad.yaml:8:23: spec.ssh.proxyJump.host: no Host named \"lb-9\""},
      {"ProxyJumpAddressWithoutHostKey",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {address: \"jump@bastion.example:2222\"}\n",  // line 8
       "bad.yaml:8:16: spec.ssh.proxyJump.hostKey: required with address: the bastion's host key "
       "is pinned like the host's own"},
      {"ProxyJumpThroughItself",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {host: h}\n",  // line 8
       "bad.yaml:8:23: spec.ssh.proxyJump.host: a host cannot be its own jump host"},
      {"ProxyJumpChain",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: x}\n"
       "spec:\n"
       "  address: 10.0.1.11\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {host: h}\n"  // line 8
       "---\n"
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: h}\n"
       "spec:\n"
       "  address: 10.0.1.10\n"
       "  ssh: {identityFile: /k, proxyJump: {address: bastion, hostKey: ssh-ed25519 AAAA}}\n",
       "bad.yaml:8:23: spec.ssh.proxyJump.host: Host \"h\" is itself reached through a jump host; "
       "kthw jumps through one bastion only"},
      {"ProxyJumpHostWithItsOwnKey",
       "apiVersion: kthw.dev/v1alpha1\n"
       "kind: Host\n"
       "metadata: {name: x}\n"
       "spec:\n"
       "  address: 10.0.1.11\n"
       "  ssh:\n"
       "    identityFile: /k\n"
       "    proxyJump: {host: h, hostKey: ssh-ed25519 AAAA}\n" +  // line 8
           std::string(kHostH),
       "bad.yaml:8:35: spec.ssh.proxyJump.hostKey: the key of Host \"h\" is its own "
       "spec.ssh.hostKey; remove this"},
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
               "    a: \"\\\\${host.zone}\"\n"),  // line 9: "$" at column 11
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

INSTANTIATE_TEST_SUITE_P(References, BadInputTest, ::testing::ValuesIn(referenceCases()),
                         [](const auto& param) { return std::string(param.param.name); });

}  // namespace kthw::resources::testing
