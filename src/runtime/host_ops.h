#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "runtime/host_command.h"
#include "runtime/host_files.h"
#include "runtime/host_probe.h"
#include "runtime/host_transport.h"

namespace kthw::runtime {

// kthw's host-side writer lock: one file holding "<since epoch> <owner>", created exclusively.
inline constexpr const char* kHostLockPath = "/run/kthw/lock";

struct HostLockState {
  bool acquired = false;
  std::string holder;       // the owner that holds it (when not acquired)
  int64_t heldSeconds = 0;  // how long the holder has held it
  std::string tookOver;     // a stale lock that was taken over, as it read
};

// The operations reconcilers perform on a host. The shell implementation turns each into one
// exec over a HostTransport; tests use an in-memory fake that records what was done.
class HostOps {
 public:
  virtual ~HostOps() = default;

  // One round trip: everything the request names.
  virtual StatusOr<ProbeResult> probe(const ProbeRequest& request) = 0;
  // The current contents of files, for showing diffs; one round trip for all of them.
  virtual StatusOr<std::map<std::string, std::string>> fetch(
      const std::vector<std::string>& paths) = 0;
  // Atomic replace (see atomicWriteScript); `ifCurrentSha256` guards against concurrent edits.
  virtual Status writeFile(const FileSpec& file, const std::string& content,
                           const std::optional<std::string>& ifCurrentSha256) = 0;
  // The same for a local file's content, streamed from disk (binaries).
  virtual Status writeFileFrom(const FileSpec& file, const LocalFile& source,
                               const std::optional<std::string>& ifCurrentSha256) = 0;
  // Replaces the kthw-managed block of a shared file (e.g. /etc/hosts) in place, keeping every
  // other line where it was, atomically; an empty block removes it. A file without the block
  // gets it at the end.
  virtual Status replaceBlock(const std::string& path, const std::string& block,
                              const std::optional<std::string>& ifCurrentSha256) = 0;
  virtual Status ensureDirectory(const FileSpec& dir) = 0;
  virtual Status removeFile(const std::string& path) = 0;
  // A command whose failure is reported with its stderr (modprobe, sysctl, systemctl, ...).
  virtual Status run(const std::string& script) = 0;
  // A typed command: its commandScript, run as run() runs a script. A fake host acts it out.
  virtual Status perform(const HostCommand& command) { return run(commandScript(command)); }
  // A read-only command whose standard output is the answer (checks that parse what a
  // service says); its failure is reported as run() reports it.
  virtual StatusOr<std::string> output(const std::string& script) {
    (void)script;
    return failedPrecondition(describe() + " cannot return a command's output");
  }

  // Takes the writer lock for `owner` (a word of [A-Za-z0-9@._:-] and spaces), or says who holds
  // it. A lock held for `staleAfter` or longer is taken over. One round trip.
  virtual StatusOr<HostLockState> lock(const std::string& owner, std::chrono::seconds staleAfter);
  // Releases the lock if `owner` holds it.
  virtual Status unlock(const std::string& owner);

  virtual std::string describe() const = 0;
  virtual std::string hostKeyFingerprint() const = 0;
  // Network round trips so far (connection set-up counted), for reports and benchmarks.
  virtual uint64_t roundTrips() const = 0;
};

class ShellHostOps : public HostOps {
 public:
  ShellHostOps(std::shared_ptr<HostTransport> transport, std::chrono::seconds timeout)
      : transport_(std::move(transport)), timeout_(timeout) {}

  StatusOr<ProbeResult> probe(const ProbeRequest& request) override;
  StatusOr<std::map<std::string, std::string>> fetch(
      const std::vector<std::string>& paths) override;
  Status writeFile(const FileSpec& file, const std::string& content,
                   const std::optional<std::string>& ifCurrentSha256) override;
  Status writeFileFrom(const FileSpec& file, const LocalFile& source,
                       const std::optional<std::string>& ifCurrentSha256) override;
  Status replaceBlock(const std::string& path, const std::string& block,
                      const std::optional<std::string>& ifCurrentSha256) override;
  Status ensureDirectory(const FileSpec& dir) override;
  Status removeFile(const std::string& path) override;
  Status run(const std::string& script) override;
  // Runs the command's script; a failure names the command (describeCommand), not its first
  // line of shell.
  Status perform(const HostCommand& command) override;
  StatusOr<std::string> output(const std::string& script) override;
  StatusOr<HostLockState> lock(const std::string& owner, std::chrono::seconds staleAfter) override;
  Status unlock(const std::string& owner) override;
  std::string describe() const override { return transport_->describe(); }
  std::string hostKeyFingerprint() const override { return transport_->hostKeyFingerprint(); }
  uint64_t roundTrips() const override { return transport_->roundTrips(); }

  HostTransport& transport() { return *transport_; }

 private:
  Status execChecked(const std::string& what, const std::string& script, const std::string& input);
  Status execChecked(const std::string& what, const std::string& script, ExecInput& input);

  std::shared_ptr<HostTransport> transport_;
  std::chrono::seconds timeout_;
};

}  // namespace kthw::runtime
