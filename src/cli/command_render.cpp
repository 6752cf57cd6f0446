#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "cli/pass_context.h"
#include "reconcilers/placement.h"
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
    {"--output-dir", "-o", true, false, "DIR",
     "Write every file to DIR/<host>/<path> instead (keys 0600; issues missing material)"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp =
    R"(Show, per host, everything the desired state places there, without touching
any host: directories, /etc/hosts entries, sysctls, kernel modules, certificate
and key files (as summaries; key material is never printed), binaries,
config files and systemd units with every ${...} substitution resolved, and
load balancer configurations.

With -o DIR, the files themselves are written under DIR/<host>/<path>, with
their modes (keys, kubeconfigs and encryption configs 0600). Certificates and
keys come from the secret store; what is missing there is issued into it, as
apply would. DIR must be outside any git work tree.

Usage:
  kthw render -f PATH [--host NAME] [--content]
  kthw render -f PATH -o DIR

Options:
)";

constexpr const char* kExitCodes = R"(
Exit status: 0 rendered, 1 the desired state is invalid, 2 usage error (a DIR
inside a git work tree included), 3 a file or the secret store could not be
written.
)";

void printItem(const reconcilers::PlacedItem& item, bool showContent, std::ostream& out) {
  using reconcilers::PlacedKind;
  std::ostringstream line;
  line << "  " << std::left << std::setw(11) << reconcilers::placedKindName(item.kind) << " "
       << item.target;
  const bool hasAttributes =
      item.kind == PlacedKind::kDirectory || item.kind == PlacedKind::kFile ||
      item.kind == PlacedKind::kSecretFile || item.kind == PlacedKind::kBinary;
  if (hasAttributes) {
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
  auto ctx = PassContext::create(state, true, std::chrono::system_clock::now(), false);
  if (!ctx.ok()) {
    io.err << "kthw render: " << ctx.status().message() << "\n";
    return kExitError;
  }
  size_t files = 0;
  for (const reconcilers::HostPlacement& p : placements) {
    const resources::Host& h = *p.host;
    if (!only.empty() && std::find(only.begin(), only.end(), h.name()) == only.end()) continue;
    for (const reconcilers::PlacedItem& item : p.items) {
      if (!item.content) continue;
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
  resources::LoadOutcome outcome = resources::loadDesiredState(parsed->all("--filename"), io.in);
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
  if (parsed->has("--output-dir")) {
    return renderToDirectory(outcome.state, placements, only, parsed->get("--output-dir"), io);
  }
  const bool showContent = parsed->has("--content");
  for (const reconcilers::HostPlacement& p : placements) {
    const resources::Host& h = *p.host;
    if (!only.empty() && std::find(only.begin(), only.end(), h.name()) == only.end()) continue;
    io.out << h.name() << " (" << h.address;
    if (h.internalIP != h.address) io.out << ", internal " << h.internalIP;
    if (h.transport == resources::TransportKind::kLocal) {
      io.out << ", local)\n";
    } else {
      io.out << ", ssh " << h.ssh.user << "@" << h.address << ":" << h.ssh.port << ")\n";
    }
    if (p.items.empty()) io.out << "  (nothing)\n";
    for (const reconcilers::PlacedItem& item : p.items) printItem(item, showContent, io.out);
    io.out << "\n";
  }
  return kExitOk;
}

}  // namespace kthw::cli
