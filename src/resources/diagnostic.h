#pragma once

#include <memory>
#include <string>
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

// Orders by file, line and column and drops exact repeats.
void sortDiagnostics(Diagnostics& diagnostics);

}  // namespace kthw::resources
