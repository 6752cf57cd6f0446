#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kthw::resources {

// Where a value came from. Lines and columns are 1-based, as editors show them.
struct Mark {
  std::shared_ptr<const std::string> file;
  int line = 0;
  int column = 0;

  const std::string& fileName() const;

  // The same position, whichever parse the file name came from.
  bool operator==(const Mark& other) const {
    return line == other.line && column == other.column && fileName() == other.fileName();
  }
};

// What a problem is about when all it says is that the state lacks a resource: "no Host named
// x" (kind Host, name x) or "selector role=a matches no Host" (kind Host, no name). When a
// document of that kind failed to load, the problem may follow from that failure alone.
struct MissingResource {
  std::string kind;
  std::string name;  // empty for a selector

  bool operator==(const MissingResource&) const = default;
};

// One problem with the input, printed as `FILE:LINE:COL: FIELD.PATH: message` on one line
// (`PATH: message` for a problem of a whole file or directory, whose mark has line 0): control
// characters anywhere in it are shown escaped, so input cannot forge another line.
struct Diagnostic {
  Mark mark;
  std::string path;  // e.g. spec.ssh.port; empty when the problem is not about one field
  std::string message;
  std::optional<MissingResource> missing;  // set when the problem is only a missing resource

  // `label` (e.g. "warning") goes after the position: `FILE:LINE:COL: warning: FIELD: message`.
  std::string toString(std::string_view label = {}) const;
};

using Diagnostics = std::vector<Diagnostic>;

// How many diagnostics are printed; the rest are counted ("and N more error(s)").
inline constexpr size_t kMaxPrintedDiagnostics = 100;
// How many characters of a value from the input a message repeats.
inline constexpr size_t kMaxEchoedChars = 80;

// A value from the input as a message shows it: control characters escaped (\n, \r, \t,
// \x00), and cut after `maxChars` bytes (at a UTF-8 boundary) with "...".
std::string escapeValue(std::string_view value, size_t maxChars = kMaxEchoedChars);
// The same in double quotes, with quotes and backslashes inside escaped too.
std::string quoteValue(std::string_view value, size_t maxChars = kMaxEchoedChars);

// The lines to print for `diagnostics`: at most `limit`, then "and N more error(s)", where N
// also counts `omitted` errors that were counted but not kept.
std::vector<std::string> diagnosticLines(const Diagnostics& diagnostics, size_t omitted = 0,
                                         size_t limit = kMaxPrintedDiagnostics);

// Appends a key to a field path: spec.ssh, or spec.sysctls["net.ipv4.ip_forward"] for keys
// that are not plain identifiers.
std::string appendFieldPath(const std::string& path, std::string_view key);

// Orders by file, line and column and drops exact repeats.
void sortDiagnostics(Diagnostics& diagnostics);

}  // namespace kthw::resources
