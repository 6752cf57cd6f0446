#pragma once

#include <map>
#include <string>
#include <vector>

#include "resources/types.h"

namespace kthw::resources {

struct Binary {
  std::string path;
  std::string url;
  std::string file;
  std::string sha256;
  std::string sha256Url;
  Mark mark;
  FieldMarks marks;

  bool operator==(const Binary&) const = default;
};

struct UnitSettings {
  std::string name;  // <component>.service by default
  std::string description;
  std::string documentation;
  std::vector<std::string> after;
  std::vector<std::string> wants;
  std::string type;
  std::string notifyAccess;
  std::string user;
  std::string group;
  std::vector<std::pair<std::string, Text>> environment;
  std::string restart;
  std::string restartSec;
  int limitNOFILE = 0;
  std::string wantedBy;
  FieldMarks marks;

  bool operator==(const UnitSettings&) const = default;
};

struct Flag {
  std::string name;
  Text value;
  bool bare = false;  // rendered as --name without a value

  bool operator==(const Flag&) const = default;
};

struct ConfigFile {
  std::string path;
  Text content;
  FileAttributes attributes;
  Mark mark;
  FieldMarks marks;

  bool operator==(const ConfigFile&) const = default;
};

struct HealthCheck {
  Text url;
  std::string certificateBundle;
  std::string authority;
  std::string clientCertificate;
  int timeoutSeconds = 0;
  Mark mark;
  FieldMarks marks;

  bool operator==(const HealthCheck&) const = default;
};

struct ControlPlaneService {
  ObjectMeta metadata;
  std::string component;
  HostTarget hosts;
  Binary binary;
  UnitSettings unit;
  std::vector<Text> args;
  std::vector<Flag> flags;
  std::vector<ConfigFile> configFiles;
  HealthCheck health;
  int maxUnavailable = 0;
  FieldMarks marks;  // of spec

  const std::string& name() const { return metadata.name; }

  bool operator==(const ControlPlaneService&) const = default;
};

}  // namespace kthw::resources
