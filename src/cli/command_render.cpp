#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/pass_context.h"
#include "reconcilers/placement.h"
#include "reconcilers/yaml_emitter.h"
#include "resources/desired_state.h"
#include "runtime/host_files.h"
#include "runtime/output_tree.h"
#include "runtime/secret_store.h"

namespace kthw::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--host", "", true, true, "NAME", "Only these hosts (repeatable)"},
    {"--content", "", false, false, "", "Also print the content of rendered files"},
    {"--output", "-o", true, false, "FORMAT", "text (default), json or yaml"},
    {"--out-dir", "", true, false, "DIR",
     "Write every file to DIR/<host>/<path> instead (keys 0600; issues missing material)"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp =
    R"(Show, per host, everything the desired state places there, without touching
any host: directories, /etc/hosts entries, sysctls, kernel modules, certificate
and key files (as summaries; key material is never printed), binaries,
config files and systemd units with every ${...} substitution resolved, and
load balancer configurations.

-o json or -o yaml prints the same per host for machines (with --content, the
content of each rendered file too).

With --out-dir DIR, the files themselves are written under DIR/<host>/<path>,
with their modes (keys, kubeconfigs and encryption configs 0600). Certificates
and keys come from the secret store; what is missing there is issued into it,
as apply would, and sealed into the bundle's spec.sealedStore file if it has
one. DIR must be outside any git work tree.

Usage:
  kthw render -f PATH [--host NAME] [--content] [-o text|json|yaml]
  kthw render -f PATH --out-dir DIR

Options:
)";

constexpr const char* kExitCodes = R"(
Exit status: 0 rendered, 1 the desired state is invalid, 2 usage error (an
--out-dir inside a git work tree included), 3 a file, the output or the secret
store could not be written.
)";

bool hasAttributes(reconcilers::PlacedKind kind) {
  using reconcilers::PlacedKind;
  return kind == PlacedKind::kDirectory || kind == PlacedKind::kFile ||
         kind == PlacedKind::kSecretFile || kind == PlacedKind::kBinary;
}

void printItem(const reconcilers::PlacedItem& item, bool showContent, std::ostream& out) {
  using reconcilers::PlacedKind;
  std::ostringstream line;
  line << "  " << std::left << std::setw(11) << reconcilers::placedKindName(item.kind) << " "
       << item.target;
  if (hasAttributes(item.kind)) {
    line << "  " << item.attributes.owner << ":" << item.attributes.group << " "
         << runtime::formatMode(item.attributes.mode);
  }
  if (!item.detail.empty() && item.kind != PlacedKind::kEtcHostsEntry) {
    line << "  " << item.detail;
  } else if (item.kind == PlacedKind::kEtcHostsEntry) {
    line.str("");
    line << "  " << std::left << std::setw(11) << "/etc/hosts"
         << " " << item.detail;
  }
  line << "  [" << item.owner << "]";
  out << line.str() << "\n";
  if (showContent && item.content) {
    std::istringstream content(*item.content);
    std::string contentLine;
    while (std::getline(content, contentLine)) out << "      | " << contentLine << "\n";
  }
}

void printText(const std::vector<const reconcilers::HostPlacement*>& placements, bool showContent,
               std::ostream& out) {
  for (const reconcilers::HostPlacement* p : placements) {
    const resources::Host& h = *p->host;
    out << h.name() << " (" << h.address;
    if (h.internalIP != h.address) out << ", internal " << h.internalIP;
    if (h.transport == resources::TransportKind::kLocal) {
      out << ", local)\n";
    } else {
      out << ", ssh " << h.ssh.user << "@" << h.address << ":" << h.ssh.port << ")\n";
    }
    if (p->items.empty()) out << "  (nothing)\n";
    for (const reconcilers::PlacedItem& item : p->items) printItem(item, showContent, out);
    out << "\n";
  }
}

// {"hosts": [{name, address, internalIP, transport, ssh, items: [...]}]}: what printText shows.
rapidjson::Document placementsJson(const std::vector<const reconcilers::HostPlacement*>& placements,
                                   bool showContent) {
  using rapidjson::Value;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto str = [&](std::string_view text) {
    return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
  };
  Value hosts(rapidjson::kArrayType);
  for (const reconcilers::HostPlacement* p : placements) {
    const resources::Host& h = *p->host;
    Value host(rapidjson::kObjectType);
    host.AddMember("name", str(h.name()), a);
    host.AddMember("address", str(h.address), a);
    host.AddMember("internalIP", str(h.internalIP), a);
    const bool local = h.transport == resources::TransportKind::kLocal;
    host.AddMember("transport", str(local ? "local" : "ssh"), a);
    if (!local) {
      Value ssh(rapidjson::kObjectType);
      ssh.AddMember("user", str(h.ssh.user), a);
      ssh.AddMember("port", h.ssh.port, a);
      host.AddMember("ssh", ssh, a);
    }
    Value items(rapidjson::kArrayType);
    for (const reconcilers::PlacedItem& item : p->items) {
      Value v(rapidjson::kObjectType);
      v.AddMember("kind", str(reconcilers::placedKindName(item.kind)), a);
      v.AddMember("target", str(item.target), a);
      if (hasAttributes(item.kind)) {
        v.AddMember("owner", str(item.attributes.owner), a);
        v.AddMember("group", str(item.attributes.group), a);
        v.AddMember("mode", str(runtime::formatMode(item.attributes.mode)), a);
      }
      if (!item.detail.empty()) v.AddMember("detail", str(item.detail), a);
      v.AddMember("resource", str(item.owner), a);
      if (showContent && item.content) v.AddMember("content", str(*item.content), a);
      items.PushBack(v, a);
    }
    host.AddMember("items", items, a);
    hosts.PushBack(host, a);
  }
  doc.AddMember("hosts", hosts, a);
  return doc;
}

namespace fs = std::filesystem;

bool writeBeneath(const fs::path& root, const std::string& host, const std::string& target,
                  const std::string& content, unsigned mode, std::ostream& err) {
  Status s = runtime::writeFileBeneath(root, host, target, content, mode);
  if (!s.ok()) err << "kthw render: " << s.message() << "\n";
  return s.ok();
}

// Writes every file of every selected host under `dir`; returns the exit code.
int renderToDirectory(const resources::DesiredState& state,
                      const std::vector<reconcilers::HostPlacement>& placements,
                      const std::vector<std::string>& only, const std::string& dir, Io io) {
  if (auto tree = runtime::enclosingGitWorkTree(dir)) {
    io.err << "kthw render: " << dir << " is inside the git work tree " << *tree
           << "; rendered keys must never be committed; choose a directory outside it\n";
    return kExitUsage;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path root = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) {
    io.err << "kthw render: cannot use " << dir << ": " << ec.message() << "\n";
    return kExitError;
  }
  auto ctx = engine::PassContext::create(state, true, std::chrono::system_clock::now(), false);
  if (!ctx.ok()) {
    io.err << "kthw render: " << ctx.status().message() << "\n";
    return kExitError;
  }
  for (const std::string& line : (*ctx)->sealedLoads()) io.out << line << "\n";
  // The material is issued by now: sealed before anything else can fail.
  if (Status s = (*ctx)->sealStores(state, io.out); !s.ok()) {
    io.err << "kthw render: " << s.message() << "\n";
    return kExitError;
  }
  size_t files = 0;
  for (const reconcilers::HostPlacement& p : placements) {
    const resources::Host& h = *p.host;
    if (!only.empty() && std::find(only.begin(), only.end(), h.name()) == only.end()) continue;
    for (const reconcilers::PlacedItem& item : p.items) {
      // A managed block is a part of a file the host owns: not a file of its own.
      if (!item.content || item.kind == reconcilers::PlacedKind::kBlock) continue;
      if (!writeBeneath(root, h.name(), item.target, *item.content, item.attributes.mode, io.err)) {
        return kExitError;
      }
      ++files;
    }
    for (const resources::CertificateBundle& b : state.bundles) {
      for (const auto& f :
           reconcilers::bundleFilesFor(state, b, (*ctx)->material().at(b.name()), h)) {
        if (!f.content) {
          io.err << "kthw render: " << f.spec.path << " on " << h.name() << ": " << f.pendingReason
                 << "\n";
          return kExitError;
        }
        if (!writeBeneath(root, h.name(), f.spec.path, *f.content, f.spec.mode, io.err)) {
          return kExitError;
        }
        ++files;
      }
    }
  }
  io.out << "rendered " << files << " file(s) under " << dir << "\n";
  return kExitOk;
}

}  // namespace

int runRender(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("render", args, kOptions, kHelp, kExitCodes, io.out, io.err, code);
  if (!parsed) return code;
  if (!parsed->has("--filename") || !parsed->positional.empty()) {
    io.err << "kthw render: give the documents with -f PATH\n";
    return kExitUsage;
  }
  // -o once named the output directory; a value that is no format is refused before anything is
  // written, so that no directory is ever created under a format's name or a format's under a
  // directory's.
  const std::string output = parsed->get("--output", "text");
  if (output != "text" && output != "json" && output != "yaml") {
    io.err << "kthw render: -o is the output format: text, json or yaml, not "
           << resources::quoteValue(output) << "; to write the files, use --out-dir DIR\n";
    return kExitUsage;
  }
  if (parsed->has("--out-dir") && output != "text") {
    io.err << "kthw render: --out-dir writes the files and prints one line; -o " << output
           << " is for the listing printed without it\n";
    return kExitUsage;
  }
  resources::LoadOutcome outcome = resources::loadDesiredState(parsed->all("--filename"), io.in);
  for (const std::string& line : outcome.warningLines()) io.err << line << "\n";
  if (!outcome.ok()) {
    for (const std::string& line : outcome.errorLines()) io.err << line << "\n";
    io.err << "kthw render: the desired state is invalid; nothing rendered\n";
    return kExitFindings;
  }
  const auto& only = parsed->all("--host");
  for (const std::string& name : only) {
    if (outcome.state.findHost(name) == nullptr) {
      io.err << "kthw render: no Host named \"" << name << "\"\n";
      return kExitUsage;
    }
  }
  resources::Diagnostics problems;
  auto placements = reconcilers::placeDesiredState(outcome.state, problems);
  for (const std::string& line : resources::diagnosticLines(problems)) io.err << line << "\n";
  if (!problems.empty()) return kExitFindings;
  if (parsed->has("--out-dir")) {
    return renderToDirectory(outcome.state, placements, only, parsed->get("--out-dir"), io);
  }
  std::vector<const reconcilers::HostPlacement*> selected;
  for (const reconcilers::HostPlacement& p : placements) {
    if (only.empty() || std::find(only.begin(), only.end(), p.host->name()) != only.end()) {
      selected.push_back(&p);
    }
  }
  const bool showContent = parsed->has("--content");
  if (output == "text") {
    printText(selected, showContent, io.out);
    return kExitOk;
  }
  const rapidjson::Document doc = placementsJson(selected, showContent);
  if (output == "yaml") {
    auto yaml = reconcilers::emitYaml(doc);
    if (!yaml.ok()) {
      io.err << "kthw render: " << yaml.status().message() << "\n";
      return kExitError;
    }
    io.out << *yaml;
    return kExitOk;
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  io.out << buffer.GetString() << "\n";
  return kExitOk;
}

}  // namespace kthw::cli
