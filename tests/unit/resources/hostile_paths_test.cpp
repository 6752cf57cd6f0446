// Hostile input, continued from hostile_inputs_test.cpp: a ".." that leaves a directory, a name
// or path that rewrites a request line, a certificate that expires at once or never, a line
// break in a sysctl. Each is refused where it is read, with FILE:LINE:COL and the field; see
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

const std::vector<BadInput>& hostilePathCases() {
  static const std::vector<BadInput> kCases = {
      {"FilePathDotDot",
       bundle("  files:\n"
              "    - path: /etc/../root/.ssh/authorized_keys\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/etc/../root/.ssh/authorized_keys\""},
      {"FilePathDot",
       bundle("  files:\n"
              "    - path: /etc/./ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/etc/./ca.pem\""},
      {"FilePathDoubleSlash",
       bundle("  files:\n"
              "    - path: /etc//ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/etc//ca.pem\""},
      {"FilePathTrailingSlash",
       bundle("  files:\n"
              "    - path: /etc/ca/\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/etc/ca/\""},
      {"FilePathRelative",
       bundle("  files:\n"
              "    - path: etc/ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"etc/ca.pem\""},
      {"FilePathNewline",
       bundle("  files:\n"
              "    - path: \"/etc/ca.pem\\n\"\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:7:13: spec.files[0].path: contains the control character U+000A at offset 11"},
      {"DirectoryPathDotDot", host("  directories: [{path: /var/lib/../../etc}]\n"),
       "bad.yaml:9:24: spec.directories[0].path: must be an absolute, normalised path (no '.', "
       "'..' or empty segments, no trailing '/'), got \"/var/lib/../../etc\""},
      {"BinaryPathDotDot", service("etcd", "  binary: {path: /usr/bin/../../tmp/etcd}\n"),
       "bad.yaml:7:18: spec.binary.path: must be an absolute, normalised path (no '.', '..' or "
       "empty segments, no trailing '/'), got \"/usr/bin/../../tmp/etcd\""},
      {"ConfigFilePathDotDot",
       service("etcd",
               "  binary: {path: /usr/bin/etcd}\n"
               "  configFiles: [{path: /etc/etcd/../../root/x, content: x}]\n"),
       "bad.yaml:8:24: spec.configFiles[0].path: must be an absolute, normalised path (no '.', "
       "'..' or empty segments, no trailing '/'), got \"/etc/etcd/../../root/x\""},
      {"LoadBalancerConfigPathDotDot",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  configPath: /etc/haproxy/../cron.d/x\n") +
           kHostH,
       "bad.yaml:8:15: spec.configPath: must be an absolute, normalised path (no '.', '..' or "
       "empty segments, no trailing '/'), got \"/etc/haproxy/../cron.d/x\""},
      {"SamePathTwiceThroughADotSegment",
       bundle("  files:\n"
              "    - path: /etc/ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n"
              "    - path: /etc/./ca.pem\n"
              "      hosts: {names: [h]}\n"
              "      content: {certificate: ca}\n") +
           kHostH,
       "bad.yaml:10:13: spec.files[1].path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/etc/./ca.pem\""},
      {"ClusterRoleNameWithSpace", rbac("ClusterRole", "\"a b\"", "rules: []\n"),
       "bad.yaml:3:18: metadata.name: \"a b\" does not match "
       "^[A-Za-z0-9]([-A-Za-z0-9_.:@]*[A-Za-z0-9])?$"},
      {"ClusterRoleNameWithQuery", rbac("ClusterRole", "\"a?watch=true\"", "rules: []\n"),
       "bad.yaml:3:18: metadata.name: \"a?watch=true\" does not match "
       "^[A-Za-z0-9]([-A-Za-z0-9_.:@]*[A-Za-z0-9])?$"},
      {"ClusterRoleNameWithFragment", rbac("ClusterRole", "\"a#b\"", "rules: []\n"),
       "bad.yaml:3:18: metadata.name: \"a#b\" does not match "
       "^[A-Za-z0-9]([-A-Za-z0-9_.:@]*[A-Za-z0-9])?$"},
      {"ClusterRoleNameWithCrLf", rbac("ClusterRole", "\"a\\r\\nX-Evil: 1\"", "rules: []\n"),
       "bad.yaml:3:18: metadata.name: contains the control character U+000D at offset 1"},
      {"ClusterRoleBindingNameWithSlash",
       rbac("ClusterRoleBinding", "a/b",
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n"),
       "bad.yaml:3:18: metadata.name: \"a/b\" does not match "
       "^[A-Za-z0-9]([-A-Za-z0-9_.:@]*[A-Za-z0-9])?$"},
      {"RoleRefNameWithSpace",
       rbac("ClusterRoleBinding", "b",
            "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: \"a b\"}\n"),
       "bad.yaml:4:73: roleRef.name: \"a b\" does not match "
       "^[A-Za-z0-9]([-A-Za-z0-9_.:@]*[A-Za-z0-9])?$"},
      {"RouteCheckPathWithQuery",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  routeCheck: {certificateBundle: b, authority: ca, path: \"/version?watch=1\"}\n") +
           kHostH,
       "bad.yaml:8:59: spec.routeCheck.path: \"/version?watch=1\" does not match "
       "^(/[A-Za-z0-9_~!&'()*+,;=:@-][A-Za-z0-9._~!&'()*+,;=:@-]*)+$"},
      {"RouteCheckPathWithFragment",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  routeCheck: {certificateBundle: b, authority: ca, path: \"/version#x\"}\n") +
           kHostH,
       "bad.yaml:8:59: spec.routeCheck.path: \"/version#x\" does not match "
       "^(/[A-Za-z0-9_~!&'()*+,;=:@-][A-Za-z0-9._~!&'()*+,;=:@-]*)+$"},
      {"RouteCheckPathWithSpace",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  routeCheck: {certificateBundle: b, authority: ca, path: \"/ver sion\"}\n") +
           kHostH,
       "bad.yaml:8:59: spec.routeCheck.path: \"/ver sion\" does not match "
       "^(/[A-Za-z0-9_~!&'()*+,;=:@-][A-Za-z0-9._~!&'()*+,;=:@-]*)+$"},
      {"RouteCheckPathWithCrLf",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  routeCheck: {certificateBundle: b, authority: ca, path: \"/version\\r\\nHost: "
            "evil\"}\n") +
           kHostH,
       "bad.yaml:8:59: spec.routeCheck.path: contains the control character U+000D at offset 8"},
      {"RouteCheckPathDotDot",
       kthw("LoadBalancer",
            "  host: h\n"
            "  frontend: {address: 10.0.1.30}\n"
            "  backends: {hosts: {names: [h]}}\n"
            "  routeCheck: {certificateBundle: b, authority: ca, path: /../secret}\n") +
           kHostH,
       "bad.yaml:8:59: spec.routeCheck.path: must be an absolute, normalised path (no '.', '..' "
       "or empty segments, no trailing '/'), got \"/../secret\""},
      {"ValidityZero", bundle("  defaults: {validity: 0s}\n"),
       "bad.yaml:6:24: spec.defaults.validity: must be longer than zero, got \"0s\""},
      {"ValidityZeroHours",
       bundle("  certificates: [{name: c, issuer: ca, commonName: c, usages: [client], validity: "
              "0h}]\n"),
       "bad.yaml:6:83: spec.certificates[0].validity: must be longer than zero, got \"0h\""},
      {"ValidityTenThousandYears", bundle("  defaults: {validity: 87600000h}\n"),
       "bad.yaml:6:24: spec.defaults.validity: must be at most 100 years (876000h), got "
       "\"87600000h\""},
      {"ValidityJustOverACentury", bundle("  defaults: {validity: 876001h}\n"),
       "bad.yaml:6:24: spec.defaults.validity: must be at most 100 years (876000h), got "
       "\"876001h\""},
      {"ValiditySubSecond", bundle("  defaults: {validity: 500ms}\n"),
       "bad.yaml:6:24: spec.defaults.validity: must be a duration in whole hours, minutes and "
       "seconds, such as 8760h or 1h30m, got \"500ms\""},
      {"ValidityFraction", bundle("  defaults: {validity: 1.5h}\n"),
       "bad.yaml:6:24: spec.defaults.validity: must be a duration in whole hours, minutes and "
       "seconds, such as 8760h or 1h30m, got \"1.5h\""},
      {"AuthorityValidityZero",
       kthw("CertificateBundle", "  authorities: [{name: ca, commonName: ca, validity: 0s}]\n"),
       "bad.yaml:5:54: spec.authorities[0].validity: must be longer than zero, got \"0s\""},
      {"RenewBeforeSubSecond", bundle("  defaults: {renewBefore: 1s500ms}\n"),
       "bad.yaml:6:27: spec.defaults.renewBefore: must be a duration in whole hours, minutes "
       "and seconds, such as 8760h or 1h30m, got \"1s500ms\""},
      {"SysctlValueCarriageReturn", host("  sysctls: {net.ipv4.ip_forward: \"1\\r\"}\n"),
       "bad.yaml:9:34: spec.sysctls[\"net.ipv4.ip_forward\"]: contains the control character "
       "U+000D at offset 1"},
      {"SysctlValueNewline",
       host("  sysctls: {net.ipv4.ip_forward: \"1\\nkernel.core_pattern = |/bin/sh\"}\n"),
       "bad.yaml:9:34: spec.sysctls[\"net.ipv4.ip_forward\"]: contains the control character "
       "U+000A at offset 1"},
      {"SysctlKeyWithEmptySegment", host("  sysctls: {net..ipv4: \"1\"}\n"),
       "bad.yaml:9:24: spec.sysctls[\"net..ipv4\"]: not a sysctl name"},
      {"KernelModuleNewline", host("  kernelModules: [\"br_netfilter\\nevil\"]\n"),
       "bad.yaml:9:19: spec.kernelModules[0]: contains the control character U+000A at offset 12"},
  };
  return kCases;
}

INSTANTIATE_TEST_SUITE_P(HostilePaths, BadInputTest, ::testing::ValuesIn(hostilePathCases()),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(HostileInputTable, HasAtLeastThirtyPathNameAndDurationCases) {
  EXPECT_GE(hostilePathCases().size(), 30u);
}

}  // namespace
}  // namespace kthw::resources::testing
