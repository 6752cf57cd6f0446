#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace kthw::cli {

// Every command gets its arguments (after the command name) and the process streams, and returns
// the exit code.
struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

int runValidate(const std::vector<std::string>& args, Io io);
int runRender(const std::vector<std::string>& args, Io io);
int runDiff(const std::vector<std::string>& args, Io io);
int runApply(const std::vector<std::string>& args, Io io);
int runRun(const std::vector<std::string>& args, Io io);
int runStatus(const std::vector<std::string>& args, Io io);
int runVerify(const std::vector<std::string>& args, Io io);
int runKubeconfig(const std::vector<std::string>& args, Io io);
int runCerts(const std::vector<std::string>& args, Io io);
int runAdopt(const std::vector<std::string>& args, Io io);
int runBackup(const std::vector<std::string>& args, Io io);
int runRestore(const std::vector<std::string>& args, Io io);
int runVersion(const std::vector<std::string>& args, Io io);

}  // namespace kthw::cli
