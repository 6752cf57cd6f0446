#pragma once

#include <map>
#include <string>
#include <vector>

#include "resources/diagnostic.h"

namespace kthw::resources {

// A string from the desired state that may hold ${...} substitutions, with where it came from,
// so that a bad reference is reported at its file:line:col.
struct Text {
  std::string value;
  Mark mark;
  std::string path;  // field path, e.g. spec.flags.etcd-servers
  bool quoted = false;
};

struct ObjectMeta {
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  Mark mark;      // the document
  Mark nameMark;  // metadata.name
};

// Which hosts a resource applies to: all of `names`, and every host carrying all `selector`
// labels.
struct HostTarget {
  std::map<std::string, std::string> selector;
  std::vector<std::string> names;
  Mark mark;
  std::string path;
};

// Owner, group and permission bits of a managed file or directory.
struct FileAttributes {
  std::string owner = "root";
  std::string group = "root";
  unsigned mode = 0644;
};

}  // namespace kthw::resources
