#include "resources/convert.h"

#include <optional>

#include "resources/formats.h"

namespace kthw::resources {
namespace {

const Node kEmpty;

const Node& child(const Node& n, std::string_view key) {
  const Node* c = n.find(key);
  return c != nullptr ? *c : kEmpty;
}

std::vector<std::string> strings(const Node& n) {
  std::vector<std::string> out;
  for (const Node& item : n.items) out.push_back(item.scalar);
  return out;
}

std::map<std::string, std::string> stringMap(const Node& n) {
  std::map<std::string, std::string> out;
  for (const MapEntry& e : n.entries) out[e.key] = e.value.scalar;
  return out;
}

// Conversion takes every value from the validated tree and invents none: the CRDs default
// every field whose default is a constant, so a field still absent here is one the CRD leaves
// unset, and it converts to the zero value (0, "", false) — or, for the few fields whose
// default is a rule, to what the rule named beside the field takes it from.
int integer(const Node& n) { return static_cast<int>(n.integer().value_or(0)); }

std::optional<unsigned> parseMode(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return static_cast<unsigned>(std::stoul(s, nullptr, 8));
}

Text text(const Node& n, std::string path) {
  return Text{n.scalar, n.mark, std::move(path), n.raw};
}

std::vector<Text> texts(const Node& n, const std::string& path) {
  std::vector<Text> out;
  for (size_t i = 0; i < n.items.size(); ++i) {
    out.push_back(text(n.items[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

FieldMarks marksOf(const Node& n) {
  FieldMarks m;
  m.self = n.mark;
  for (const MapEntry& e : n.entries) m.fields.emplace(e.key, e.value.mark);
  return m;
}

HostTarget hostTarget(const Node& n, std::string path) {
  HostTarget t{stringMap(child(n, "selector")),
               strings(child(n, "names")),
               n.mark,
               std::move(path),
               n.mark,
               {}};
  if (const Node* selector = n.find("selector")) t.selectorMark = selector->mark;
  for (const Node& name : child(n, "names").items) t.nameMarks.push_back(name.mark);
  return t;
}

// The CRDs default owner, group and (for directories and config files) mode.
FileAttributes attributes(const Node& n) {
  return FileAttributes{n.str("owner"), n.str("group"), parseMode(n.str("mode")).value_or(0)};
}

Subject subject(const Node& n) {
  const Node& s = child(n, "subject");
  return Subject{n.str("commonName"),
                 strings(child(s, "organizations")),
                 strings(child(s, "organizationalUnits")),
                 strings(child(s, "countries")),
                 strings(child(s, "provinces")),
                 strings(child(s, "localities"))};
}

std::optional<std::chrono::seconds> duration(const Node& n) {
  if (!n.isScalar()) return std::nullopt;
  return parseDuration(n.scalar);
}

}  // namespace

ObjectMeta toObjectMeta(const Node& metadata, const Mark& documentMark) {
  const Node& name = child(metadata, "name");
  return ObjectMeta{name.scalar, stringMap(child(metadata, "labels")),
                    stringMap(child(metadata, "annotations")), documentMark,
                    name.isScalar() ? name.mark : metadata.mark};
}

Host toHost(const Node& doc, ObjectMeta meta) {
  const Node& spec = child(doc, "spec");
  Host h;
  h.metadata = std::move(meta);
  h.marks = marksOf(spec);
  h.sysctlMarks = marksOf(child(spec, "sysctls"));
  h.address = spec.str("address");
  h.internalIP = spec.str("internalIP");
  if (h.internalIP.empty()) h.internalIP = h.address;  // the CRD's rule: defaults to address
  h.hostname = spec.str("hostname");
  h.transport = spec.str("transport") == "local" ? TransportKind::kLocal : TransportKind::kSsh;
  const Node& ssh = child(spec, "ssh");
  h.ssh.user = ssh.str("user");
  h.ssh.port = integer(child(ssh, "port"));
  h.ssh.identityFile = ssh.str("identityFile");
  h.ssh.useAgent = child(ssh, "useAgent").boolean();
  h.ssh.hostKey = ssh.str("hostKey");
  h.ssh.knownHostsFile = ssh.str("knownHostsFile");
  h.ssh.hostKeyPolicy =
      ssh.str("hostKeyPolicy") == "AcceptNew" ? HostKeyPolicy::kAcceptNew : HostKeyPolicy::kStrict;
  h.ssh.sudo = child(ssh, "sudo").boolean();
  h.ssh.connectTimeoutSeconds = integer(child(ssh, "connectTimeoutSeconds"));
  h.ssh.commandTimeoutSeconds = integer(child(ssh, "commandTimeoutSeconds"));
  h.ssh.keepaliveSeconds = integer(child(ssh, "keepaliveSeconds"));
  if (const Node& jump = child(ssh, "proxyJump"); jump.isMapping()) {
    h.ssh.proxyJump =
        ProxyJump{jump.str("host"), jump.str("address"), jump.str("hostKey"), marksOf(jump), {}};
  }
  for (const Node& e : child(spec, "etcHosts").items) {
    h.etcHosts.push_back(EtcHostsEntry{e.str("ip"), strings(child(e, "names")), marksOf(e)});
  }
  for (const Node& d : child(spec, "directories").items) {
    h.directories.push_back(ManagedDirectory{d.str("path"), attributes(d)});
  }
  h.sysctls = stringMap(child(spec, "sysctls"));
  h.kernelModules = strings(child(spec, "kernelModules"));
  return h;
}

CertificateBundle toCertificateBundle(const Node& doc, ObjectMeta meta) {
  const Node& spec = child(doc, "spec");
  CertificateBundle b;
  b.metadata = std::move(meta);
  b.clusterName = spec.str("clusterName");
  b.secretStore = spec.str("secretStore");
  if (const Node& sealed = child(spec, "sealedStore"); sealed.isMapping()) {
    SealedStore s{sealed.str("file"), sealed.str("identityFile"), {}, {}, marksOf(sealed)};
    for (const Node& r : child(sealed, "recipients").items) {
      s.recipients.push_back(r.scalar);
      s.recipientMarks.push_back(r.mark);
    }
    b.sealedStore = std::move(s);
  }
  // The CRD's rule: a keyAlgorithm, validity or renewBefore an item leaves unset is taken from
  // spec.defaults, which the CRD defaults field by field.
  const Node& defaults = child(spec, "defaults");
  const auto defaultAlgorithm = parseKeyAlgorithm(defaults.str("keyAlgorithm"));
  const auto defaultValidity = duration(child(defaults, "validity"));
  const auto defaultRenew = duration(child(defaults, "renewBefore"));
  constexpr std::chrono::seconds kUnset{};
  auto algorithm = [&](const Node& n) {
    return parseKeyAlgorithm(n.str("keyAlgorithm"))
        .value_or(defaultAlgorithm.value_or(KeyAlgorithm{}));
  };
  auto inherited = [&](const Node& n, const std::optional<std::chrono::seconds>& from) {
    return duration(n).value_or(from.value_or(kUnset));
  };
  for (const Node& a : child(spec, "authorities").items) {
    b.authorities.push_back(Authority{a.str("name"), subject(a), algorithm(a),
                                      duration(child(a, "validity")).value_or(kUnset), a.mark});
  }
  const auto& certs = child(spec, "certificates").items;
  for (size_t i = 0; i < certs.size(); ++i) {
    const Node& c = certs[i];
    const std::string path = "spec.certificates[" + std::to_string(i) + "]";
    Certificate cert;
    cert.name = c.str("name");
    cert.issuer = c.str("issuer");
    cert.subject = subject(c);
    for (const std::string& u : strings(child(c, "usages"))) {
      cert.serverAuth |= u == "server";
      cert.clientAuth |= u == "client";
    }
    cert.dnsNames = texts(child(c, "dnsNames"), path + ".dnsNames");
    cert.ipAddresses = texts(child(c, "ipAddresses"), path + ".ipAddresses");
    cert.keyAlgorithm = algorithm(c);
    cert.validity = inherited(child(c, "validity"), defaultValidity);
    cert.renewBefore = inherited(child(c, "renewBefore"), defaultRenew);
    cert.mark = c.mark;
    cert.issuerMark = child(c, "issuer").mark;
    cert.marks = marksOf(c);
    b.certificates.push_back(std::move(cert));
  }
  for (const Node& k : child(spec, "keyPairs").items) {
    b.keyPairs.push_back(KeyPair{k.str("name"), algorithm(k), k.mark});
  }
  const auto& kubeconfigs = child(spec, "kubeconfigs").items;
  for (size_t i = 0; i < kubeconfigs.size(); ++i) {
    const Node& k = kubeconfigs[i];
    b.kubeconfigs.push_back(
        Kubeconfig{k.str("name"), k.str("certificate"), k.str("user"),
                   text(child(k, "server"), "spec.kubeconfigs[" + std::to_string(i) + "].server"),
                   k.mark, child(k, "certificate").mark});
  }
  for (const Node& e : child(spec, "encryptionConfigs").items) {
    b.encryptionConfigs.push_back(EncryptionConfigSpec{
        e.str("name"),
        e.str("format") == "EncryptionConfig" ? EncryptionFormat::kLegacyEncryptionConfig
                                              : EncryptionFormat::kEncryptionConfiguration,
        e.str("provider"), strings(child(e, "resources")), e.mark,
        integer(child(e, "keyGeneration")), child(e, "retirePreviousKey").boolean()});
  }
  const auto& files = child(spec, "files").items;
  for (size_t i = 0; i < files.size(); ++i) {
    const Node& f = files[i];
    const std::string path = "spec.files[" + std::to_string(i) + "]";
    BundleFile file;
    file.path = f.str("path");
    file.hosts = hostTarget(child(f, "hosts"), path + ".hosts");
    const Node& content = child(f, "content");
    if (!content.entries.empty()) {
      const MapEntry& source = content.entries.front();
      static const std::pair<std::string_view, ContentKind> kKinds[] = {
          {"certificate", ContentKind::kCertificate},
          {"key", ContentKind::kKey},
          {"publicKey", ContentKind::kPublicKey},
          {"kubeconfig", ContentKind::kKubeconfig},
          {"encryptionConfig", ContentKind::kEncryptionConfig}};
      for (const auto& [name, kind] : kKinds) {
        if (source.key == name) file.kind = kind;
      }
      file.source = source.value.scalar;
      file.sourceMark = source.value.mark;
      file.sourcePath = path + ".content." + source.key;
    }
    file.attributes = attributes(f);
    // The CRD's rule: a file's mode depends on whether it carries private material.
    file.attributes.mode = parseMode(f.str("mode")).value_or(defaultFileMode(file.kind));
    file.mark = f.mark;
    file.marks = marksOf(f);
    b.files.push_back(std::move(file));
  }
  return b;
}

ControlPlaneService toControlPlaneService(const Node& doc, ObjectMeta meta) {
  const Node& spec = child(doc, "spec");
  ControlPlaneService s;
  s.metadata = std::move(meta);
  s.component = spec.str("component");
  s.hosts = hostTarget(child(spec, "hosts"), "spec.hosts");
  const Node& bin = child(spec, "binary");
  s.binary = Binary{bin.str("path"),      bin.str("url"), bin.str("file"), bin.str("sha256"),
                    bin.str("sha256URL"), bin.mark,       marksOf(bin)};
  s.marks = marksOf(spec);
  const Node& unit = child(spec, "unit");
  s.unit.name = unit.str("name");
  if (s.unit.name.empty()) s.unit.name = s.component + ".service";  // the CRD's rule
  s.unit.description = unit.str("description");
  s.unit.documentation = unit.str("documentation");
  s.unit.after = strings(child(unit, "after"));
  s.unit.wants = strings(child(unit, "wants"));
  s.unit.type = unit.str("type");
  s.unit.notifyAccess = unit.str("notifyAccess");
  s.unit.user = unit.str("user");
  s.unit.group = unit.str("group");
  for (const MapEntry& e : child(unit, "environment").entries) {
    s.unit.environment.emplace_back(e.key, text(e.value, "spec.unit.environment." + e.key));
  }
  s.unit.restart = unit.str("restart");
  s.unit.restartSec = unit.str("restartSec");
  s.unit.limitNOFILE = integer(child(unit, "limitNOFILE"));  // 0: not set
  s.unit.wantedBy = unit.str("wantedBy");
  s.unit.marks = marksOf(unit);
  s.args = texts(child(spec, "args"), "spec.args");
  for (const MapEntry& e : child(spec, "flags").entries) {
    Flag f{e.key, text(e.value, "spec.flags." + e.key), e.value.isNull()};
    if (f.bare) f.value.mark = e.keyMark;
    s.flags.push_back(std::move(f));
  }
  const auto& files = child(spec, "configFiles").items;
  for (size_t i = 0; i < files.size(); ++i) {
    const Node& f = files[i];
    s.configFiles.push_back(
        ConfigFile{f.str("path"),
                   text(child(f, "content"), "spec.configFiles[" + std::to_string(i) + "].content"),
                   attributes(f), f.mark, marksOf(f)});
  }
  const Node& health = child(spec, "health");
  s.health.url = text(child(health, "url"), "spec.health.url");
  s.health.certificateBundle = health.str("certificateBundle");
  s.health.authority = health.str("authority");
  s.health.clientCertificate = health.str("clientCertificate");
  s.health.timeoutSeconds = integer(child(health, "timeoutSeconds"));
  s.health.mark = health.mark;
  s.health.marks = marksOf(health);
  s.maxUnavailable = integer(child(child(spec, "rollout"), "maxUnavailable"));
  return s;
}

LoadBalancer toLoadBalancer(const Node& doc, ObjectMeta meta) {
  const Node& spec = child(doc, "spec");
  LoadBalancer lb;
  lb.metadata = std::move(meta);
  lb.implementation = spec.str("implementation");
  lb.host = spec.str("host");
  lb.hostMark = child(spec, "host").mark;
  lb.marks = marksOf(spec);
  const Node& frontend = child(spec, "frontend");
  lb.frontendAddress = frontend.str("address");
  lb.frontendPort = integer(child(frontend, "port"));
  for (const Node& p : child(frontend, "extraPorts").items) lb.extraPorts.push_back(integer(p));
  const Node& backends = child(spec, "backends");
  lb.backends = hostTarget(child(backends, "hosts"), "spec.backends.hosts");
  lb.backendPort = integer(child(backends, "port"));
  lb.backendUsesInternalIP = backends.str("addressField") == "internalIP";
  lb.backendService = backends.str("service");
  lb.backendServiceMark = child(backends, "service").mark;
  const Node& hc = child(spec, "healthCheck");
  lb.fall = integer(child(hc, "fall"));
  lb.rise = integer(child(hc, "rise"));
  lb.intervalSeconds = integer(child(hc, "intervalSeconds"));
  lb.httpCheckPath = hc.str("httpPath");
  lb.configPath = spec.str("configPath");
  if (lb.configPath.empty()) lb.configPath = defaultConfigPath(lb.implementation);  // CRD's rule
  if (const Node* route = spec.find("routeCheck")) {
    lb.routeBundle = route->str("certificateBundle");
    lb.routeAuthority = route->str("authority");
    lb.routePath = route->str("path");
  }
  if (const Node* proxy = spec.find("healthzProxy")) {
    lb.healthzProxy.enabled = true;
    lb.healthzProxy.hosts = hostTarget(child(*proxy, "hosts"), "spec.healthzProxy.hosts");
    lb.healthzProxy.serverName = proxy->str("serverName");
    lb.healthzProxy.listenPort = integer(child(*proxy, "listenPort"));
    lb.healthzProxy.upstream = proxy->str("upstream");
    lb.healthzProxy.caFile = proxy->str("caFile");
  }
  return lb;
}

RbacObject toRbacObject(const Node& doc, ObjectMeta meta) {
  RbacObject o;
  o.kind = doc.str("kind");
  o.metadata = std::move(meta);
  o.document = doc;
  const Node& roleRef = child(doc, "roleRef");
  o.roleRefName = roleRef.str("name");
  o.roleRefMark = child(roleRef, "name").mark;
  return o;
}

}  // namespace kthw::resources
