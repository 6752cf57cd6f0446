#include "render_invariants.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <vector>

#include "../support/systemd_words.h"
#include "reconcilers/bundle_files.h"
#include "reconcilers/unit_renderer.h"
#include "resources/substitution.h"

namespace kthw::fuzz {
namespace {

using reconcilers::testing::splitCommandLine;
using reconcilers::testing::unescapeSpecifiers;

// systemd refuses a logical line longer than this (LONG_LINE_MAX in conf-parser.c).
constexpr size_t kMaxLogicalLine = 1024 * 1024;

// The section of each key the renderer may write.
const std::map<std::string, std::string>& emittedKeys() {
  static const std::map<std::string, std::string> kKeys = {
      {"Description", "[Unit]"},    {"Documentation", "[Unit]"}, {"After", "[Unit]"},
      {"Wants", "[Unit]"},          {"Type", "[Service]"},       {"NotifyAccess", "[Service]"},
      {"User", "[Service]"},        {"Group", "[Service]"},      {"Environment", "[Service]"},
      {"ExecStart", "[Service]"},   {"Restart", "[Service]"},    {"RestartSec", "[Service]"},
      {"LimitNOFILE", "[Service]"}, {"WantedBy", "[Install]"}};
  return kKeys;
}

struct Directive {
  std::string key;
  std::string value;  // as written, specifiers not resolved
};

struct UnitRead {
  std::vector<Directive> directives;
  std::string violation;
};

std::string trimmed(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

bool isComment(const std::string& line) {
  const std::string t = trimmed(line);
  return !t.empty() && (t[0] == '#' || t[0] == ';');
}

// A line continues when it ends in an odd number of backslashes (an even number are escaped).
bool continues(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

std::string controlCharacterIn(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if ((u < 0x20 && u != '\n') || u == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "U+%04X", u);
      return std::string("control character ") + code + " at offset " + std::to_string(i);
    }
  }
  return "";
}

// An independent reading of unit-file lines after systemd.syntax(7): a trailing backslash joins
// a line with the next (as a space), comment lines inside a continuation are dropped, leading
// and trailing whitespace is stripped.
UnitRead readUnit(const std::string& text) {
  UnitRead out;
  if (std::string c = controlCharacterIn(text); !c.empty()) return {{}, c};
  std::string section;
  std::set<std::string> sections;
  std::string logical;
  bool continuing = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (continuing && isComment(line)) continue;
    continuing = continues(line);
    logical += continuing ? line.substr(0, line.size() - 1) + " " : line;
    if (logical.size() > kMaxLogicalLine) return {{}, "a logical line longer than systemd reads"};
    if (continuing) continue;
    const std::string l = trimmed(logical);
    logical.clear();
    if (l.empty() || isComment(l)) continue;
    if (l.front() == '[') {
      if (l.back() != ']' || (l != "[Unit]" && l != "[Service]" && l != "[Install]")) {
        return {{}, "unexpected section header " + l};
      }
      if (!sections.insert(l).second) return {{}, "section " + l + " twice"};
      section = l;
      continue;
    }
    const size_t eq = l.find('=');
    if (eq == std::string::npos) return {{}, "neither a section, a comment nor Key=Value: " + l};
    const std::string key = trimmed(l.substr(0, eq));
    auto it = emittedKeys().find(key);
    if (it == emittedKeys().end()) return {{}, "a key the renderer never writes: " + l};
    if (it->second != section) return {{}, key + "= in section '" + section + "'"};
    out.directives.push_back({key, trimmed(l.substr(eq + 1))});
  }
  if (continuing) return {{}, "the last line continues into nothing"};
  return out;
}

// The words systemd reads from a command line or a list value.
struct Words {
  std::vector<std::string> words;
  std::string violation;
};

Words wordsOf(const Directive& d, bool dollars) {
  auto value = unescapeSpecifiers(d.value);
  if (!value) return {{}, "a lone '%' (a specifier) in " + d.key + "=" + d.value};
  auto split = splitCommandLine(*value, dollars);
  if (!split.error.empty()) return {{}, d.key + "=: " + split.error};
  return {split.words, ""};
}

std::string commandViolation(const std::vector<std::string>& argv,
                             const resources::ControlPlaneService& service) {
  const size_t expected = 1 + service.flags.size() + service.args.size();
  if (argv.size() != expected) {
    return "ExecStart= has " + std::to_string(argv.size()) + " words, expected " +
           std::to_string(expected);
  }
  if (argv[0] != service.binary.path) return "ExecStart= runs " + argv[0];
  for (size_t i = 0; i < service.flags.size(); ++i) {
    const resources::Flag& f = service.flags[i];
    const std::string& word = argv[1 + i];
    const bool ok = f.bare ? word == "--" + f.name : word.starts_with("--" + f.name + "=");
    if (!ok) return "ExecStart= word " + std::to_string(1 + i) + " is not flag " + f.name;
  }
  return "";
}

std::string directivesViolation(const std::vector<Directive>& directives,
                                const resources::ControlPlaneService& service) {
  const auto execStarts = std::count_if(directives.begin(), directives.end(),
                                        [](const Directive& d) { return d.key == "ExecStart"; });
  if (execStarts != 1) return std::to_string(execStarts) + " ExecStart= lines";
  size_t environments = 0;
  for (const Directive& d : directives) {
    const bool command = d.key == "ExecStart";
    const bool list = d.key == "After" || d.key == "Wants" || d.key == "WantedBy";
    const bool environment = d.key == "Environment";
    if (!command && !list && !environment) {
      if (!unescapeSpecifiers(d.value)) return "a lone '%' (a specifier) in " + d.key;
      continue;
    }
    Words w = wordsOf(d, command);
    if (!w.violation.empty()) return w.violation;
    if (command) {
      if (std::string v = commandViolation(w.words, service); !v.empty()) return v;
    } else if (w.words.size() != 1) {
      return d.key + "= holds " + std::to_string(w.words.size()) + " words: " + d.value;
    } else if (environment) {
      ++environments;
      if (w.words[0].find('=') == std::string::npos) return "Environment= without '='";
    }
  }
  if (environments != service.unit.environment.size()) {
    return std::to_string(environments) + " Environment= lines, expected " +
           std::to_string(service.unit.environment.size());
  }
  return "";
}

// Key material the renderers accept as text; nothing parses it on the way into a kubeconfig.
reconcilers::BundleMaterial placeholderMaterial(const resources::CertificateBundle& b) {
  reconcilers::BundleMaterial m;
  auto pem = [](const std::string& what, const std::string& name) {
    return "-----BEGIN " + what + "-----\nplaceholder for " + name + "\n-----END " + what +
           "-----\n";
  };
  for (const auto& a : b.authorities) m.certificates[a.name] = pem("CERTIFICATE", a.name);
  for (const auto& c : b.certificates) {
    m.certificates[c.name] = pem("CERTIFICATE", c.name);
    m.keys[c.name] = runtime::PrivateKeyPem{pem("PRIVATE KEY", c.name)};
  }
  for (const auto& e : b.encryptionConfigs) {
    m.encryptionKeys[e.name].keys = {
        {e.keyGeneration, "cGxhY2Vob2xkZXIgZW5jcnlwdGlvbiBrZXkgMzJi"},
        {e.keyGeneration + 1, "c2Vjb25kIHBsYWNlaG9sZGVyIGVuY3J5cHRpb24="}};
  }
  return m;
}

bool isDocument(const resources::BundleFile& f) {
  return f.kind == resources::ContentKind::kKubeconfig ||
         f.kind == resources::ContentKind::kEncryptionConfig;
}

template <typename T>
const T* named(const std::vector<T>& items, const std::string& name) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.name == name; });
  return it == items.end() ? nullptr : &*it;
}

std::string documentViolation(const resources::Substituter& substituter,
                              const resources::CertificateBundle& b,
                              const reconcilers::BundleMaterial& m, const resources::BundleFile& f,
                              const std::string& content) {
  if (f.kind == resources::ContentKind::kEncryptionConfig) {
    const auto* e = named(b.encryptionConfigs, f.source);
    if (e == nullptr) return "no encryption config " + f.source;
    return encryptionConfigViolation(content, *e, m.encryptionKeys.at(e->name));
  }
  const auto* k = named(b.kubeconfigs, f.source);
  const auto* cert = k == nullptr ? nullptr : named(b.certificates, k->certificate);
  if (cert == nullptr) return "no kubeconfig or certificate for " + f.source;
  resources::Diagnostics ignored;
  KubeconfigInputs in;
  in.cluster = b.clusterName;
  in.server = substituter.resolve(k->server, nullptr, ignored).value_or("");
  in.user = k->user.empty() ? cert->subject.commonName : k->user;
  in.caPem = m.certificates.at(cert->issuer);
  in.certPem = m.certificates.at(cert->name);
  in.keyPem = m.keys.at(cert->name).pem;
  return kubeconfigViolation(content, in);
}

// Kubeconfigs and encryption configs do not depend on the host: each file is checked once, as
// rendered for the first host it goes to.
std::string bundleViolation(const resources::DesiredState& state,
                            const resources::Substituter& substituter,
                            const resources::CertificateBundle& bundle) {
  resources::CertificateBundle documents = bundle;
  documents.files.clear();
  std::copy_if(bundle.files.begin(), bundle.files.end(), std::back_inserter(documents.files),
               isDocument);
  const reconcilers::BundleMaterial m = placeholderMaterial(bundle);
  std::vector<bool> checked(documents.files.size(), false);
  for (const resources::Host& h : state.hosts) {
    std::vector<size_t> selected;
    for (size_t i = 0; i < documents.files.size(); ++i) {
      if (state.selects(documents.files[i].hosts, h)) selected.push_back(i);
    }
    if (std::all_of(selected.begin(), selected.end(), [&](size_t i) { return checked[i]; })) {
      continue;
    }
    auto files = reconcilers::bundleFilesFor(state, documents, m, h);
    if (files.size() != selected.size()) return "bundle files do not match the spec";
    for (size_t j = 0; j < files.size(); ++j) {
      const resources::BundleFile& f = documents.files[selected[j]];
      if (checked[selected[j]] || !files[j].content) continue;
      checked[selected[j]] = true;
      std::string v = documentViolation(substituter, bundle, m, f, *files[j].content);
      if (!v.empty()) return "CertificateBundle/" + bundle.name() + " " + f.path + ": " + v;
    }
  }
  return "";
}

}  // namespace

std::string unitViolation(const std::string& unit, const resources::ControlPlaneService& service) {
  UnitRead read = readUnit(unit);
  if (!read.violation.empty()) return read.violation;
  return directivesViolation(read.directives, service);
}

std::string renderViolation(const resources::DesiredState& state) {
  const resources::Substituter substituter(state);
  for (const resources::ControlPlaneService& s : state.services) {
    for (const resources::Host* h : state.select(s.hosts)) {
      resources::Diagnostics refused;
      auto unit = reconcilers::renderUnit(s, *h, substituter, refused);
      if (!unit) continue;
      if (std::string v = unitViolation(*unit, s); !v.empty()) {
        return "ControlPlaneService/" + s.name() + " on " + h->name() + ": " + v;
      }
    }
  }
  for (const resources::CertificateBundle& b : state.bundles) {
    if (std::string v = bundleViolation(state, substituter, b); !v.empty()) return v;
  }
  return "";
}

}  // namespace kthw::fuzz
