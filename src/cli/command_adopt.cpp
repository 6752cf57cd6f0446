// kthw adopt: take over the authorities, key pairs and encryption keys a cluster already runs on.
#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/host_pass.h"
#include "engine/pass_context.h"
#include "engine/sealed_store.h"
#include "reconcilers/adoption.h"
#include "resources/desired_state.h"
#include "runtime/logging.h"
#include "runtime/secret_store.h"
#include "runtime/store_archive.h"

namespace kthw::cli {
namespace {

using reconcilers::AdoptionItem;

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--bundle", "", true, false, "NAME", "Only this CertificateBundle"},
    {"--dry-run", "", false, false, "",
     "Read and check, print what would be imported, write nothing"},
    {"--supersede", "", false, false, "",
     "Set aside precious material the store holds but no host runs (an apply the guard held "
     "back issued it), and adopt the hosts'"},
    {"--parallel", "", true, false, "N", "Hosts read at once (default 32)"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp =
    R"(Take over a cluster that was built by hand, or by kthw on another machine,
without reissuing anything precious.

kthw adopt reads, from every host, the files the desired state places there
for each CertificateBundle: authorities (certificate and key), key pairs, the
encryption config (its keys included), and the leaf certificates with their
keys. It checks that precious material agrees across hosts (one CA
everywhere, one key pair, one key list), that every private key belongs to
its certificate or public key, and that the secret store holds no other
precious material under the same name; then it imports everything into the
store in one atomic replace. Leaves are imported when signed by their
authority and found with their key; the next kthw diff reissues only those
whose spec differs (subject, SANs, usages, key algorithm, expiry).

A store that already holds another CA, key pair or encryption key is refused:
kthw adopt never replaces precious material unless told. This happens when
kthw apply ran before kthw adopt: the guard kept the hosts as they were, but
the apply issued its own CA into the store. If no host runs the store's
material, --supersede sets it aside (it stays in the store, under
superseded/UNIX-TIME/) and adopts the hosts'.

Encryption keys keep their names: kthw names keys key1, key2, ... and a
config that names them otherwise is refused, since a renamed key makes
every Secret written with it unreadable. Kubeconfigs are derived and not
read: kthw apply rewrites them from the adopted material.

Nothing is written when anything is refused or a host cannot be read. No key
material is printed; certificates and keys are named by their sha256.

Usage:
  kthw adopt -f PATH [--bundle NAME] [--dry-run] [--supersede]

Examples:
  kthw diff -f cluster/          # the guard: "the certificate of authority ca ... is not in this secret store"
  kthw adopt -f cluster/ --dry-run
  kthw adopt -f cluster/
  kthw diff -f cluster/          # only leaves whose spec differs are reissued
  kthw backup -f cluster/ -o cluster.age -r age1...

Options:
)";

constexpr const char* kExit = R"(
Exit status: 0 imported, or nothing to import; 1 refused, nothing written
(hosts disagree, a key does not match, the store holds other precious
material, an encryption config kthw cannot keep); 2 usage error or invalid
desired state; 3 a host could not be read, the secret store could not be
read or written, or the sealed store could not be written (the import
stands; the next apply seals it).
)";

const char* outcomeWord(AdoptionItem::Outcome o) {
  switch (o) {
    case AdoptionItem::Outcome::kImported:
      return "import";
    case AdoptionItem::Outcome::kAlreadyStored:
      return "in store";
    case AdoptionItem::Outcome::kNotFound:
      return "not found";
    case AdoptionItem::Outcome::kLeft:
      return "reissue";
    case AdoptionItem::Outcome::kRefused:
      return "REFUSED";
  }
  return "?";
}

// Every host some bundle places an adoptable file on, with the paths, read in parallel.
StatusOr<reconcilers::HostFileContents> readHosts(
    const resources::DesiredState& state,
    const std::vector<const resources::CertificateBundle*>& bundles, size_t parallel, Io io) {
  std::vector<std::pair<const resources::Host*, std::vector<std::string>>> work;
  for (const resources::Host& h : state.hosts) {
    std::set<std::string> paths;
    for (const auto* b : bundles) {
      for (std::string& p : reconcilers::adoptablePathsOn(state, *b, h)) paths.insert(std::move(p));
    }
    if (!paths.empty()) work.emplace_back(&h, std::vector<std::string>(paths.begin(), paths.end()));
  }
  io.err << "kthw adopt: reading " << work.size() << " host(s)\n";
  std::vector<StatusOr<std::map<std::string, std::string>>> results(work.size(),
                                                                    internalError("not read"));
  engine::runParallel(work.size(), parallel, [&](size_t i) {
    results[i] = engine::connectHost(*work[i].first)->fetch(work[i].second);
  });
  reconcilers::HostFileContents found;
  std::string unreachable;
  for (size_t i = 0; i < work.size(); ++i) {
    if (results[i].ok()) {
      found[work[i].first->name()] = std::move(*results[i]);
    } else {
      io.err << work[i].first->name() << ": " << results[i].status().message() << "\n";
      unreachable += (unreachable.empty() ? "" : ", ") + work[i].first->name();
    }
  }
  if (!unreachable.empty()) {
    return unavailable("could not read " + unreachable +
                       "; adoption checks every host, so nothing was imported");
  }
  return found;
}

struct StoreWork {
  std::string dir;
  std::string clusterName;
  std::unique_ptr<runtime::SecretStore> store;  // null in a dry run before the store exists
  std::map<std::string, std::string> imports;
  std::vector<std::string> superseded;
};

Status adopt(const ParsedArgs& args, const resources::DesiredState& state, size_t parallel, Io io) {
  const std::string only = args.get("--bundle");
  const bool dryRun = args.has("--dry-run");
  std::vector<const resources::CertificateBundle*> bundles;
  for (const auto& b : state.bundles) {
    if (only.empty() || b.name() == only) bundles.push_back(&b);
  }
  if (bundles.empty()) {
    return invalidArgument(only.empty() ? "the desired state has no CertificateBundle"
                                        : "no CertificateBundle named \"" + only + "\"");
  }
  // A sealed store shared through git is loaded first: adoption compares with what the other
  // machines hold, not with a stale local copy.
  if (!dryRun) {
    auto loaded = engine::loadSealedStores(state);
    if (!loaded.ok()) return loaded.status();
    for (const std::string& line : *loaded) io.err << line << "\n";
  }
  // Stores are locked before anything is read, so no apply writes into them meanwhile.
  std::map<std::string, StoreWork> stores;
  for (const auto* b : bundles) {
    StoreWork& w = stores[engine::secretStoreDir(*b)];
    if (!w.dir.empty()) continue;
    w.dir = engine::secretStoreDir(*b);
    w.clusterName = b->clusterName;
    auto store = runtime::SecretStore::open(
        w.dir, dryRun ? runtime::SecretStore::Mode::kRead : runtime::SecretStore::Mode::kWrite);
    if (store.ok()) {
      w.store = std::move(*store);
    } else if (!dryRun || store.status().code() != StatusCode::kNotFound) {
      return store.status();
    }
  }
  auto found = readHosts(state, bundles, parallel, io);
  if (!found.ok()) return found.status();
  bool refused = false;
  size_t imported = 0;
  for (const auto* b : bundles) {
    StoreWork& w = stores.at(engine::secretStoreDir(*b));
    const reconcilers::Adoption plan =
        reconcilers::planAdoption(state, *b, *found, w.store.get(), args.has("--supersede"));
    io.out << "CertificateBundle " << b->name() << " (secret store " << w.dir << "):\n";
    for (const AdoptionItem& item : plan.items) {
      io.out << "  " << outcomeWord(item.outcome) << "  " << item.what
             << (item.material == reconcilers::Material::kPrecious ? " (precious)" : "") << ": "
             << item.detail << "\n";
      imported += item.outcome == AdoptionItem::Outcome::kImported ? 1 : 0;
    }
    refused = refused || plan.refused();
    w.imports.insert(plan.imports.begin(), plan.imports.end());
    w.superseded.insert(w.superseded.end(), plan.superseded.begin(), plan.superseded.end());
  }
  if (refused) {
    return failedPrecondition("refused: nothing was imported; resolve what is marked REFUSED");
  }
  if (dryRun || imported == 0) {
    io.out << (imported == 0 ? "nothing to import" : "dry run: nothing written") << "\n";
    return okStatus();
  }
  for (auto& [dir, w] : stores) {
    if (w.imports.empty()) continue;
    // Every file, the sealed store's record included: the next pass then sees that only the
    // local store moved, should sealing below fail.
    auto archive = runtime::readStoreFiles(dir, w.clusterName);
    if (!archive.ok()) return archive.status();
    const std::string aside =
        std::string(reconcilers::kSupersededDir) + "/" + std::to_string(::time(nullptr)) + "/";
    for (runtime::StoreFile& f : archive->files) {
      if (std::find(w.superseded.begin(), w.superseded.end(), f.path) != w.superseded.end()) {
        f.path = aside + f.path;
      }
    }
    const auto& imports = w.imports;  // a lambda names no structured binding (clang 14)
    std::erase_if(archive->files,
                  [&](const runtime::StoreFile& f) { return imports.count(f.path) != 0; });
    for (auto& [path, content] : w.imports) {
      archive->files.push_back({path, 0600, std::move(content)});
    }
    std::sort(archive->files.begin(), archive->files.end(),
              [](const auto& x, const auto& y) { return x.path < y.path; });
    // Written beside the store and exchanged with it in one rename: after a crash the store is
    // the old one or the new one.
    if (Status s = runtime::replaceStoreDirectory(dir, *archive); !s.ok()) return s;
    io.out << "imported " << w.imports.size() << " file(s) into secret store " << dir;
    if (!w.superseded.empty()) {
      io.out << "; set aside " << w.superseded.size() << " under " << aside;
    }
    io.out << "\n";
    // Adopted material is precious material that other machines must share: a sealed store
    // takes it now, and the operator commits it.
    for (const auto* b : bundles) {
      if (engine::secretStoreDir(*b) != dir || !b->sealedStore) continue;
      auto sealed = engine::sealStore(*b, dir, io.out);
      if (!sealed.ok()) {
        return unavailable("imported into " + dir + ", but not sealed: " +
                           sealed.status().message() + "; the next kthw apply seals it");
      }
      break;
    }
  }
  io.out << "adopted " << imported
         << " item(s); run kthw diff to see what apply changes (nothing precious is reissued)\n";
  return okStatus();
}

}  // namespace

int runAdopt(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("adopt", args, kOptions, kHelp, kExit, io.out, io.err, code);
  if (!parsed) return code;
  const auto parallel = parseCount(parsed->get("--parallel", "32"), 4);
  if (!parsed->has("--filename") || !parsed->positional.empty() || !parallel || *parallel == 0) {
    io.err << "kthw adopt: give the documents with -f PATH; --parallel a positive number\n";
    return kExitUsage;
  }
  resources::LoadOutcome loaded = resources::loadDesiredState(parsed->all("--filename"), io.in);
  if (!loaded.ok()) {
    for (const std::string& line : loaded.errorLines()) io.err << line << "\n";
    io.err << "kthw adopt: the desired state is invalid\n";
    return kExitUsage;
  }
  runtime::initLogging(runtime::Verbosity::kNormal);
  Status s = adopt(*parsed, loaded.state, *parallel, io);
  if (s.ok()) return kExitOk;
  io.err << "kthw adopt: " << s.message() << "\n";
  return exitCodeFor(s);
}

}  // namespace kthw::cli
