#pragma once

#include <memory>
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
};

// One problem with the input, printed as `FILE:LINE:COL: FIELD.PATH: message`.
struct Diagnostic {
  Mark mark;
  std::string path;  // e.g. spec.ssh.port; empty when the problem is not about one field
  std::string message;

  std::string toString() const;
};

using Diagnostics = std::vector<Diagnostic>;

// Appends a key to a field path: spec.ssh, or spec.sysctls["net.ipv4.ip_forward"] for keys
// that are not plain identifiers.
std::string appendFieldPath(const std::string& path, std::string_view key);

// Orders by file, line and column and drops exact repeats.
void sortDiagnostics(Diagnostics& diagnostics);

}  // namespace kthw::resources
