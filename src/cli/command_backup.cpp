// kthw backup and kthw restore: the secret store as one age-encrypted archive.
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/pass_context.h"
#include "engine/sealed_store.h"
#include "resources/desired_state.h"
#include "runtime/age.h"
#include "runtime/atomic_file.h"
#include "runtime/secret_store.h"
#include "runtime/store_archive.h"

namespace kthw::cli {
namespace {

const OptionSpec kFilename = {
    "--filename", "-f",   true,
    true,         "PATH", "File or directory of YAML documents (repeatable; - reads stdin)"};
const OptionSpec kBundle = {"--bundle",
                            "",
                            true,
                            false,
                            "NAME",
                            "The CertificateBundle whose secret store is meant, when the "
                            "bundles use several"};
const OptionSpec kPassphraseFile = {
    "--passphrase-file",
    "",
    true,
    false,
    "FILE",
    "Read the passphrase from FILE (its first line); KTHW_PASSPHRASE works too"};
const OptionSpec kHelpOption = {"--help", "-h", false, false, "", "Show this help"};

const std::vector<OptionSpec> kBackupOptions = {
    kFilename,
    {"--output", "-o", true, false, "FILE",
     "Write the archive to FILE (0600, atomically); - is stdout, unless it is a terminal"},
    {"--recipient", "-r", true, true, "AGE1...",
     "Encrypt to this age public key, as age-keygen -y prints it (repeatable)"},
    {"--recipients-file", "-R", true, false, "FILE",
     "Encrypt to every age1... line of FILE (# comments allowed)"},
    kPassphraseFile,
    kBundle,
    kHelpOption,
};

const std::vector<OptionSpec> kRestoreOptions = {
    kFilename,
    {"--identity", "-i", true, false, "FILE",
     "Decrypt with the AGE-SECRET-KEY-1... lines of FILE, as age-keygen writes it"},
    kPassphraseFile,
    {"--force", "", false, false, "", "Replace a secret store that already holds files"},
    kBundle,
    kHelpOption,
};

constexpr const char* kBackupHelp =
    R"help(Write the secret store (every key, certificate and encryption key kthw keeps
for the cluster) as one encrypted archive in the age format
(age-encryption.org/v1), which Debian's age opens as well as kthw restore.

Encrypt to age public keys (-r, -R: X25519, made with age-keygen) or to a
passphrase (--passphrase-file FILE, or the KTHW_PASSPHRASE environment
variable; scrypt, work factor 2^18), not both. The store is read under its
lock, so an apply running at the same time cannot leave half a key in it.
Nothing secret is printed: not the passphrase, not the keys.

The archive's plaintext is a kthw-store-archive v1 document: the cluster
name, then each file's path in the store, mode and content (see README,
"Backups"). age -d -i KEY.txt FILE shows it. A spec.sealedStore file holds the
same document; a backup is the copy kept elsewhere, for any recipient.

Usage:
  kthw backup -f PATH -o FILE (-r AGE1... | -R FILE | --passphrase-file FILE)

Examples:
  age-keygen -o ~/backup-key.txt
  kthw backup -f cluster/ -o cluster.age -r "$(age-keygen -y ~/backup-key.txt)"
  KTHW_PASSPHRASE=... kthw backup -f cluster/ -o cluster.age

Options:
)help";

constexpr const char* kBackupExit = R"(
Exit status: 0 written; 1 the secret store does not exist or holds nothing
yet (run kthw apply first); 2 usage error, invalid desired state, no or
several secret stores to choose from, a bad recipient or an empty
passphrase; 3 the secret store, a key file or FILE could not be read or
written.
)";

constexpr const char* kRestoreHelp =
    R"(Replace the secret store with the content of an archive kthw backup wrote
(or one age encrypted from such a document).

The archive is decrypted and checked whole before anything is touched: a
wrong identity or passphrase, a tampered or truncated archive, or an archive
of another cluster is refused and the store is left as it was. A store that
already holds files is replaced only with --force. The new store is written
beside the old one and the two are exchanged in one rename, so after a crash
the store is either the old one or the new one, never a mixture; files keep
the archive's modes (0600), directories are 0700.

When the CertificateBundle has a spec.sealedStore, the restored store is
sealed into its file as well: that is how two machines whose stores diverged
agree again (restore the side to keep, commit the sealed file).

Usage:
  kthw restore -f PATH FILE (-i IDENTITY | --passphrase-file FILE) [--force]

Examples:
  kthw restore -f cluster/ cluster.age -i ~/backup-key.txt
  KTHW_PASSPHRASE=... kthw restore -f cluster/ cluster.age --force
  kthw apply -f cluster/     # then: hosts converge to the restored keys

Options:
)";

constexpr const char* kRestoreExit = R"(
Exit status: 0 restored; 1 refused and nothing written: the store already
holds files (give --force), the identity or passphrase does not open FILE,
FILE is tampered with, truncated or not a kthw archive, or it is the archive
of another cluster; 2 usage error, invalid desired state, no or several
secret stores to choose from, or a malformed identity file; 3 the secret
store, a key file or FILE could not be read or written.
)";

struct StoreChoice {
  std::string dir;
  std::string clusterName;
  const resources::CertificateBundle* bundle = nullptr;  // one of those that use the store
};

StatusOr<StoreChoice> chooseStore(const resources::DesiredState& state,
                                  const std::string& bundleName) {
  std::set<std::string> dirs;
  StoreChoice choice;
  for (const resources::CertificateBundle& b : state.bundles) {
    if (!bundleName.empty() && b.name() != bundleName) continue;
    dirs.insert(engine::secretStoreDir(b));
    // The bundle that declares a sealed store, if one does: restore seals through it.
    if (choice.bundle == nullptr || (b.sealedStore && !choice.bundle->sealedStore)) {
      choice = {engine::secretStoreDir(b), b.clusterName, &b};
    }
  }
  if (!bundleName.empty() && dirs.empty()) {
    return invalidArgument("no CertificateBundle named \"" + bundleName + "\"");
  }
  if (dirs.empty()) {
    return invalidArgument("the desired state has no CertificateBundle, so no secret store");
  }
  if (dirs.size() > 1) {
    return invalidArgument(
        "the CertificateBundles use several secret stores; choose one with "
        "--bundle");
  }
  return choice;
}

// A key file's content; its problems are usage errors or I/O, never echoed content.
StatusOr<std::string> readKeyFile(const std::string& path) {
  auto text = runtime::readLocalFile(path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    return invalidArgument("cannot read " + path + ": " + text.status().message());
  }
  return text;
}

// The passphrase from --passphrase-file (its first line) or KTHW_PASSPHRASE; none if neither.
StatusOr<std::optional<std::string>> passphrase(const ParsedArgs& args) {
  std::string value;
  if (args.has("--passphrase-file")) {
    auto text = readKeyFile(args.get("--passphrase-file"));
    if (!text.ok()) return text.status();
    value = text->substr(0, text->find('\n'));
    if (!value.empty() && value.back() == '\r') value.pop_back();
  } else if (const char* env = std::getenv("KTHW_PASSPHRASE"); env != nullptr) {
    value = env;
  } else {
    return std::optional<std::string>();
  }
  if (value.empty()) return invalidArgument("the passphrase is empty");
  return std::optional<std::string>(std::move(value));
}

StatusOr<runtime::AgeRecipients> backupRecipients(const ParsedArgs& args) {
  runtime::AgeRecipients r;
  for (const std::string& text : args.all("--recipient")) {
    auto key = runtime::parseAgeRecipient(text);
    if (!key.ok()) return key.status();
    r.x25519.push_back(*key);
  }
  if (args.has("--recipients-file")) {
    auto text = readKeyFile(args.get("--recipients-file"));
    if (!text.ok()) return text.status();
    auto keys = runtime::parseAgeRecipientsFile(*text);
    if (!keys.ok()) {
      return invalidArgument(args.get("--recipients-file") + ": " + keys.status().message());
    }
    r.x25519.insert(r.x25519.end(), keys->begin(), keys->end());
  }
  auto pass = passphrase(args);
  if (!pass.ok()) return pass.status();
  if (*pass && !r.x25519.empty()) {
    return invalidArgument("give recipients or a passphrase, not both (age forbids mixing them)");
  }
  if (!*pass && r.x25519.empty()) {
    return invalidArgument("give -r AGE1..., -R FILE, --passphrase-file FILE or KTHW_PASSPHRASE");
  }
  r.passphrase = std::move(*pass);
  return r;
}

Status backup(const ParsedArgs& args, const resources::DesiredState& state, Io io) {
  auto recipients = backupRecipients(args);
  if (!recipients.ok()) return recipients.status();
  auto choice = chooseStore(state, args.get("--bundle"));
  if (!choice.ok()) return choice.status();
  const std::string out = args.get("--output");
  if (out == "-" && ::isatty(1) != 0) {
    return invalidArgument("refusing to write the archive to a terminal; give -o FILE");
  }
  auto store = runtime::SecretStore::open(choice->dir, runtime::SecretStore::Mode::kRead);
  if (!store.ok() && store.status().code() == StatusCode::kNotFound) {
    return failedPrecondition(store.status().message());
  }
  if (!store.ok()) return store.status();
  auto archive = engine::readArchivableStore(choice->dir, choice->clusterName);
  if (!archive.ok()) return archive.status();
  if (archive->files.empty()) {
    return failedPrecondition("the secret store " + choice->dir +
                              " holds nothing yet; run kthw apply first");
  }
  auto encrypted = runtime::ageEncrypt(runtime::encodeStoreArchive(*archive), *recipients);
  if (!encrypted.ok()) return encrypted.status();
  const std::string how =
      recipients->passphrase
          ? "with a passphrase"
          : "to " + std::to_string(recipients->x25519.size()) + " age recipient(s)";
  if (out == "-") {
    io.out << *encrypted << std::flush;
    io.err << "kthw backup: " << archive->files.size() << " files of " << choice->dir
           << ", encrypted " << how << "\n";
    return okStatus();
  }
  if (Status s = runtime::writeFileAtomically(out, *encrypted, 0600); !s.ok()) return s;
  io.out << "wrote " << out << " (0600): " << archive->files.size() << " files of secret store "
         << choice->dir << " (cluster " << choice->clusterName << "), encrypted " << how << "\n";
  return okStatus();
}

StatusOr<runtime::AgeIdentities> restoreIdentities(const ParsedArgs& args) {
  runtime::AgeIdentities ids;
  if (args.has("--identity")) {
    auto text = readKeyFile(args.get("--identity"));
    if (!text.ok()) return text.status();
    auto keys = runtime::parseAgeIdentityFile(*text);
    if (!keys.ok()) {
      return invalidArgument(args.get("--identity") + ": " + keys.status().message());
    }
    ids.x25519 = std::move(*keys);
  }
  auto pass = passphrase(args);
  if (!pass.ok()) return pass.status();
  ids.passphrase = std::move(*pass);
  if (ids.x25519.empty() && !ids.passphrase) {
    return invalidArgument("give -i IDENTITY, --passphrase-file FILE or KTHW_PASSPHRASE");
  }
  return ids;
}

// Decrypted and parsed whole; every way the archive can be wrong is a refusal (exit 1).
StatusOr<runtime::StoreArchive> openArchive(const std::string& path,
                                            const runtime::AgeIdentities& ids) {
  auto file = runtime::readLocalFile(path);
  if (!file.ok()) return file.status();
  auto plain = runtime::ageDecrypt(*file, ids);
  if (!plain.ok() && plain.status().code() != StatusCode::kResourceExhausted &&
      plain.status().code() != StatusCode::kInternal) {
    return failedPrecondition(path + ": " + plain.status().message());
  }
  if (!plain.ok()) return plain.status();
  auto archive = runtime::decodeStoreArchive(*plain);
  if (!archive.ok()) return failedPrecondition(path + ": " + archive.status().message());
  return archive;
}

Status restore(const ParsedArgs& args, const resources::DesiredState& state, Io io) {
  auto ids = restoreIdentities(args);
  if (!ids.ok()) return ids.status();
  auto choice = chooseStore(state, args.get("--bundle"));
  if (!choice.ok()) return choice.status();
  const std::string path = args.positional.front();
  auto archive = openArchive(path, *ids);
  if (!archive.ok()) return archive.status();
  if (archive->clusterName != choice->clusterName) {
    return failedPrecondition(path + " is the archive of cluster " + archive->clusterName +
                              ", not of " + choice->clusterName);
  }
  // Locked before it is looked at, and until the exchange is done: no apply can write into the
  // store meanwhile.
  auto store = runtime::SecretStore::open(choice->dir, runtime::SecretStore::Mode::kWrite);
  if (!store.ok()) return store.status();
  auto held = runtime::storeHoldsFiles(choice->dir);
  if (!held.ok()) return held.status();
  if (*held && !args.has("--force")) {
    return failedPrecondition("the secret store " + choice->dir +
                              " already holds files; pass --force to replace it");
  }
  // A backup holds no sealing bookkeeping; one from elsewhere might: it is not this store's.
  std::erase_if(archive->files,
                [](const runtime::StoreFile& f) { return f.path == engine::kSealedDigestFile; });
  if (Status s = runtime::replaceStoreDirectory(choice->dir, *archive); !s.ok()) return s;
  io.out << "restored " << archive->files.size() << " files into secret store " << choice->dir
         << " (cluster " << archive->clusterName << ")\n";
  // The restored store is what this cluster's machines share from now on: the sealed file
  // takes it (which is also how two machines that diverged are brought together).
  auto sealed = engine::sealStore(*choice->bundle, choice->dir, io.out, true);
  return sealed.ok() ? okStatus() : sealed.status();
}

std::optional<resources::DesiredState> loadState(const ParsedArgs& args, const char* command,
                                                 Io io) {
  resources::LoadOutcome loaded = resources::loadDesiredState(args.all("--filename"), io.in);
  if (loaded.ok()) return std::move(loaded.state);
  for (const std::string& line : loaded.errorLines()) io.err << line << "\n";
  io.err << "kthw " << command << ": the desired state is invalid\n";
  return std::nullopt;
}

}  // namespace

int runBackup(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed =
      parseCommand("backup", args, kBackupOptions, kBackupHelp, kBackupExit, io.out, io.err, code);
  if (!parsed) return code;
  if (!parsed->has("--filename") || !parsed->has("--output") || !parsed->positional.empty()) {
    io.err << "kthw backup: give the documents with -f PATH and the archive with -o FILE\n";
    return kExitUsage;
  }
  auto state = loadState(*parsed, "backup", io);
  if (!state) return kExitUsage;
  Status s = backup(*parsed, *state, io);
  if (s.ok()) return kExitOk;
  io.err << "kthw backup: " << s.message() << "\n";
  return exitCodeFor(s);
}

int runRestore(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("restore", args, kRestoreOptions, kRestoreHelp, kRestoreExit, io.out,
                             io.err, code);
  if (!parsed) return code;
  if (!parsed->has("--filename") || parsed->positional.size() != 1) {
    io.err << "kthw restore: give the documents with -f PATH and one archive FILE\n";
    return kExitUsage;
  }
  auto state = loadState(*parsed, "restore", io);
  if (!state) return kExitUsage;
  Status s = restore(*parsed, *state, io);
  if (s.ok()) return kExitOk;
  io.err << "kthw restore: " << s.message() << "\n";
  return exitCodeFor(s);
}

}  // namespace kthw::cli
