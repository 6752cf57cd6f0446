#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace kthw::cli {

// Exit codes shared by every command, as kubectl diff uses them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // invalid input, or drift for diff
inline constexpr int kExitUsage = 2;
inline constexpr int kExitError = 3;

// The exit code a failure carries in its status code: InvalidArgument is a usage error (2),
// FailedPrecondition a finding or refusal the operator resolves (1), anything else I/O (3).
inline int exitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    case StatusCode::kFailedPrecondition:
      return kExitFindings;
    default:
      return kExitError;
  }
}

struct OptionSpec {
  std::string longName;   // "--filename"
  std::string shortName;  // "-f", may be empty
  bool takesValue = false;
  bool repeatable = false;
  std::string valueName;  // shown in help, e.g. DIR
  std::string help;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;  // by long name
  std::vector<std::string> positional;

  bool has(const std::string& longName) const { return values.count(longName) > 0; }
  std::string get(const std::string& longName, const std::string& fallback = "") const;
  const std::vector<std::string>& all(const std::string& longName) const;
};

// Parses `args` against `specs`; on a usage error returns the message in `error`.
std::optional<ParsedArgs> parseArgs(const std::vector<std::string>& args,
                                    const std::vector<OptionSpec>& specs, std::string& error);

std::string formatOptions(const std::vector<OptionSpec>& specs);

// A whole number of at most `maxDigits` digits (no sign, no blanks), or nothing.
std::optional<size_t> parseCount(const std::string& text, size_t maxDigits);

// A command's arguments: on a usage error prints it with a pointer to --help and sets `code` to
// kExitUsage; on --help prints `help`, the options and `exitStatus` (every exit code the
// command can return, and what each means) and sets kExitOk. Either way returns nothing, and
// the command returns `code`.
std::optional<ParsedArgs> parseCommand(const std::string& command,
                                       const std::vector<std::string>& args,
                                       const std::vector<OptionSpec>& specs,
                                       const std::string& help, const std::string& exitStatus,
                                       std::ostream& out, std::ostream& err, int& code);

}  // namespace kthw::cli
