#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "runtime/exec_input.h"

namespace kthw::runtime {

struct ExecResult {
  int exitStatus = -1;
  std::string out;
  std::string err;
};

// How kthw runs commands on a host. Everything kthw does to a host — probing, atomic writes,
// systemctl — is a POSIX shell script sent through exec, so the host needs nothing installed.
class HostTransport {
 public:
  virtual ~HostTransport() = default;

  // Runs `script` with `sh -c` (through sudo when configured), feeding `input` on stdin.
  // Unavailable / DeadlineExceeded when the host cannot be reached in time; a non-zero exit is
  // not an error at this level (see ExecResult::exitStatus).
  StatusOr<ExecResult> exec(const std::string& script, const std::string& input,
                            std::chrono::seconds timeout) {
    ExecInput in = ExecInput::memory(input);
    return execWithInput(script, in, timeout);
  }
  // The same, with the input read as it is sent (a local file is streamed, not loaded).
  virtual StatusOr<ExecResult> execWithInput(const std::string& script, ExecInput& input,
                                             std::chrono::seconds timeout) = 0;

  // "ssh root@10.0.1.10:22" or "local", for messages.
  virtual std::string describe() const = 0;

  // The host key fingerprint ("SHA256:..."), once connected; empty for local.
  virtual std::string hostKeyFingerprint() const { return ""; }

  // Round trips to the host so far (one per exec, plus connection set-up), for measurements.
  virtual uint64_t roundTrips() const = 0;
};

}  // namespace kthw::runtime
