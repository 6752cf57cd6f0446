// kthw certs: every authority and certificate, in the secret store and on the hosts.
#include <algorithm>
#include <ctime>
#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/host_pass.h"
#include "engine/installed_certificates.h"
#include "engine/pass_context.h"
#include "reconcilers/certificate_inventory.h"
#include "resources/desired_state.h"
#include "resources/diagnostic.h"
#include "runtime/logging.h"

namespace kthw::cli {
namespace {

using reconcilers::CertificateEntry;
using reconcilers::CertificateInventory;
using reconcilers::InstalledCopy;

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--host", "", true, true, "NAME",
     "Only certificates placed on these hosts, and their copies there (repeatable)"},
    {"--output", "-o", true, false, "FORMAT", "table (default) or json"},
    {"--parallel", "", true, false, "N", "Hosts read at once (default 32)"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp =
    R"(List every authority and certificate of the desired state: its subject and
issuer, when it expires and how many days are left, as the secret store holds
it; and, on every host the desired state places it, whether the installed file
is the store's certificate and when that file itself expires.

Each certificate is checked against the authority that issued it (OpenSSL's
verifier, against the store's copy of the authority). A certificate is due for
renewal within its renewBefore (default 720h); an authority, which kthw never
rotates on its own, within 30 days. Hosts are read with one command each (over
SSH, or locally for transport: local), and only the certificate files: keys
and kubeconfigs (which hold keys) are never read. Nothing is written to the
hosts or the secret store, and nothing is issued.

The table shows subjects by CN and O (Kubernetes' user and groups); -o json
gives the whole names, fingerprints and every check.

Usage:
  kthw certs -f PATH [--host NAME] [-o json]

Examples:
  kthw certs -f cluster/
  kthw certs -f cluster/ --host controller-0
  kthw certs -f cluster/ -o json | jq '.certificates[] | select(.finding)'

Options:
)";

constexpr const char* kExit = R"(
Exit status: 0 every certificate is issued, valid beyond its renewal window,
chains to its authority, and is installed as the store holds it on every
reachable host; 1 a finding: a certificate (in the store or on a host) within
its renewal window, expired, not yet valid, or not chaining to its authority,
one not issued yet, or an installed copy absent, unreadable or different from
the store's; 2 usage error or invalid desired state; 3 a host could not be
read, or the secret store could not be opened (3 wins over 1).
)";

std::string day(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// Left-aligned columns; the last one is not padded.
void printTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

// "CN=admin,O=system:masters": who Kubernetes takes the holder for. Values from a host are
// escaped so that no certificate can add a line.
std::string briefSubject(const runtime::CertificateInfo& info) {
  std::string out = "CN=" + resources::escapeValue(info.commonName);
  for (const std::string& o : info.organizations) out += ",O=" + resources::escapeValue(o);
  return out;
}

std::vector<std::string> dates(const std::optional<runtime::CertificateCheck>& c) {
  if (!c) return {"-", "-"};
  return {day(c->info.notAfter), std::to_string(c->daysLeft)};
}

void printStoreTable(const CertificateInventory& inv, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"CERTIFICATE", "KIND", "SUBJECT", "ISSUER", "NOT AFTER", "DAYS LEFT", "STATUS"}};
  for (const CertificateEntry& e : inv.entries) {
    const auto& s = e.stored;
    std::vector<std::string> row = {
        e.bundle + "/" + e.name, e.authority ? "authority" : "certificate",
        s ? briefSubject(s->info) : "-",
        s ? "CN=" + resources::escapeValue(s->info.issuerCommonName) : "-"};
    for (std::string& d : dates(s)) row.push_back(std::move(d));
    row.push_back(reconcilers::entryStatus(e));
    rows.push_back(std::move(row));
  }
  printTable(rows, out);
}

void printHostTable(const CertificateInventory& inv, std::ostream& out) {
  struct Row {
    const CertificateEntry* entry;
    const InstalledCopy* copy;
  };
  std::vector<Row> copies;
  for (const CertificateEntry& e : inv.entries) {
    for (const InstalledCopy& c : e.copies) {
      if (c.state != reconcilers::CopyState::kUnreachable) copies.push_back({&e, &c});
    }
  }
  std::stable_sort(copies.begin(), copies.end(), [](const Row& a, const Row& b) {
    return std::tie(a.copy->host, a.copy->path) < std::tie(b.copy->host, b.copy->path);
  });
  if (!copies.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"HOST", "PATH", "CERTIFICATE", "INSTALLED", "NOT AFTER", "DAYS LEFT", "STATUS"}};
    for (const Row& r : copies) {
      std::vector<std::string> row = {r.copy->host, r.copy->path,
                                      r.entry->bundle + "/" + r.entry->name,
                                      std::string(reconcilers::copyStateName(r.copy->state))};
      for (std::string& d : dates(r.copy->check)) row.push_back(std::move(d));
      row.push_back(reconcilers::copyStatus(*r.entry, *r.copy));
      rows.push_back(std::move(row));
    }
    out << "\n";
    printTable(rows, out);
  }
  for (const auto& [host, reach] : inv.hosts) {
    if (!reach.ok()) out << "\n" << host << ": unreachable: " << reach.message() << "\n";
  }
}

void printSummary(const CertificateInventory& inv, std::ostream& out) {
  size_t findings = 0;
  size_t copies = 0;
  for (const CertificateEntry& e : inv.entries) {
    findings += e.finding() ? 1 : 0;
    copies += e.copies.size();
  }
  size_t unreachable = 0;
  for (const auto& [host, reach] : inv.hosts) unreachable += reach.ok() ? 0 : 1;
  out << "\n"
      << inv.entries.size() << " certificate(s), " << findings << " with findings; " << copies
      << " file(s) placed on " << inv.hosts.size() << " host(s), " << unreachable
      << " unreachable\n";
}

}  // namespace

int runCerts(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("certs", args, kOptions, kHelp, kExit, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "table");
  const auto parallel = parseCount(parsed->get("--parallel", "32"), 4);
  if (!parsed->has("--filename") || !parsed->positional.empty() ||
      (output != "table" && output != "json") || !parallel || *parallel == 0) {
    io.err << "kthw certs: give the documents with -f PATH; -o is table or json; --parallel a "
              "positive number\n";
    return kExitUsage;
  }
  resources::LoadOutcome loaded = resources::loadDesiredState(parsed->all("--filename"), io.in);
  if (!loaded.ok()) {
    for (const std::string& line : loaded.errorLines()) io.err << line << "\n";
    io.err << "kthw certs: the desired state is invalid\n";
    return kExitUsage;
  }
  const auto& hosts = parsed->all("--host");
  for (const std::string& h : hosts) {
    if (loaded.state.findHost(h) == nullptr) {
      io.err << "kthw certs: no Host named \"" << h << "\"\n";
      return kExitUsage;
    }
  }
  runtime::initLogging(runtime::Verbosity::kNormal);
  auto stored = engine::readStoredCertificates(loaded.state);
  if (!stored.ok()) {
    io.err << "kthw certs: " << stored.status().message() << "\n";
    return kExitError;
  }
  auto installed =
      engine::fetchInstalledCertificates(loaded.state, hosts, engine::connectHost, *parallel);
  const CertificateInventory inventory = reconcilers::buildInventory(
      loaded.state, *stored, installed, hosts, std::chrono::system_clock::now());
  if (output == "json") {
    io.out << reconcilers::inventoryJson(inventory);
  } else {
    printStoreTable(inventory, io.out);
    printHostTable(inventory, io.out);
    printSummary(inventory, io.out);
  }
  if (inventory.anyUnreachable()) return kExitError;
  return inventory.anyFinding() ? kExitFindings : kExitOk;
}

}  // namespace kthw::cli
