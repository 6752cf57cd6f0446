#pragma once

#include <atomic>
#include <vector>

#include "runtime/host_transport.h"

namespace kthw::runtime {

// Runs scripts on the machine kthw runs on, with /bin/sh.
class LocalTransport : public HostTransport {
 public:
  explicit LocalTransport(bool sudo = false) : sudo_(sudo) {}

  using HostTransport::exec;
  StatusOr<ExecResult> execWithInput(const std::string& script, ExecInput& input,
                                     std::chrono::seconds timeout) override;
  std::string describe() const override { return "local"; }
  uint64_t roundTrips() const override { return execs_; }

 private:
  bool sudo_;
  std::atomic<uint64_t> execs_{0};
};

// Runs argv with stdin `input`, collecting stdout and stderr, killing it after `timeout`.
StatusOr<ExecResult> runProcess(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout);
StatusOr<ExecResult> runProcess(const std::vector<std::string>& argv, ExecInput& input,
                                std::chrono::milliseconds timeout);

}  // namespace kthw::runtime
