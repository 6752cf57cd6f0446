#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "resources/diagnostic.h"

namespace kthw::resources {

// A string from the desired state that may hold ${...} substitutions, with where it came from,
// so that a bad reference is reported at its file:line:col.
struct Text {
  std::string value;
  Mark mark;         // where the scalar starts in the file (its quote or block indicator)
  std::string path;  // field path, e.g. spec.flags.etcd-servers
  std::string raw;   // the scalar as written, to point into it; may be empty

  bool operator==(const Text&) const = default;
};

// Where each field of an object was written, so that checks beyond the schema can point at the
// field itself. A defaulted field has its parent's mark.
struct FieldMarks {
  Mark self;
  std::map<std::string, Mark, std::less<>> fields;

  const Mark& of(std::string_view field) const {
    auto it = fields.find(field);
    return it == fields.end() ? self : it->second;
  }

  // Equal when every field points at the same place: a field recorded at its parent's mark
  // equals one not recorded at all, as `of` answers the same for both.
  bool operator==(const FieldMarks& other) const {
    if (!(self == other.self)) return false;
    for (const auto& [field, mark] : fields) {
      if (!(other.of(field) == mark)) return false;
    }
    for (const auto& [field, mark] : other.fields) {
      if (!(of(field) == mark)) return false;
    }
    return true;
  }
};

struct ObjectMeta {
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  Mark mark;      // the document
  Mark nameMark;  // metadata.name

  bool operator==(const ObjectMeta&) const = default;
};

// Which hosts a resource applies to: all of `names`, and every host carrying all `selector`
// labels.
struct HostTarget {
  std::map<std::string, std::string> selector;
  std::vector<std::string> names;
  Mark mark;
  std::string path;
  Mark selectorMark;
  std::vector<Mark> nameMarks;

  bool operator==(const HostTarget&) const = default;
};

// Owner, group and permission bits of a managed file or directory.
struct FileAttributes {
  std::string owner;
  std::string group;
  unsigned mode = 0;

  bool operator==(const FileAttributes&) const = default;
};

}  // namespace kthw::resources
