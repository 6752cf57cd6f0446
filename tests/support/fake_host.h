#pragma once

#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/digest.h"
#include "runtime/host_command.h"
#include "runtime/host_ops.h"

namespace kthw::testing {

// An in-memory host that answers probes from its own files and records every mutating call,
// as sample-controller's fake client records actions.
class FakeHost : public runtime::HostOps {
 public:
  struct File {
    std::string content;
    runtime::FileSpec spec;
    bool directory = false;
    bool symlink = false;  // content is the link's target
  };

  std::map<std::string, File> files;
  std::map<std::string, std::string> sysctls;  // present keys and their values
  std::map<std::string, bool> modules;
  bool systemctl = false;                           // probes report systemctl when set
  std::map<std::string, runtime::UnitState> units;  // as systemctl reports them
  // Unit files as the last daemon-reload read them, by unit name.
  std::map<std::string, std::string> loadedUnitFiles;
  std::map<std::string, std::string> haproxyServers;  // "backend/server" -> state
  std::vector<std::string> actions;            // "write /etc/x", "mkdir /etc/y", "run ...", ...
  std::vector<runtime::HostCommand> commands;  // every perform(), in order
  int probes = 0;
  bool unreachable = false;
  // What run() answers for a script, asked once the script is recorded; every script succeeds
  // when unset. A test makes a health check fail with it, or sees the order across hosts.
  std::function<Status(const std::string& script)> runResult;

  StatusOr<runtime::ProbeResult> probe(const runtime::ProbeRequest& request) override {
    ++probes;
    if (unreachable) return unavailable("fake host is down");
    runtime::ProbeResult r;
    for (const std::string& p : request.paths) {
      auto it = files.find(p);
      if (it == files.end()) continue;
      runtime::FileState st;
      st.type = it->second.directory ? runtime::FileType::kDirectory
                : it->second.symlink ? runtime::FileType::kSymlink
                                     : runtime::FileType::kFile;
      st.mode = it->second.spec.mode;
      st.owner = it->second.spec.owner;
      st.group = it->second.spec.group;
      st.size = it->second.content.size();
      if (!it->second.directory) st.sha256 = runtime::sha256Hex(it->second.content);
      r.files[p] = st;
    }
    for (const std::string& b : request.blocks) r.blocks[b] = block(b);
    for (const auto& [p, sha256] : request.contentsUnlessSha256) {
      auto it = files.find(p);
      if (it == files.end() || it->second.directory) continue;
      if (runtime::sha256Hex(it->second.content) != sha256) r.contents[p] = it->second.content;
    }
    for (const std::string& k : request.sysctls) {
      auto it = sysctls.find(k);
      r.sysctls[k] = it == sysctls.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    for (const std::string& m : request.modules) r.modules[m] = modules[m];
    r.systemctlAvailable = systemctl;
    for (const std::string& u : request.units) {
      if (auto it = units.find(u); it != units.end()) r.units[u] = it->second;
    }
    r.osRelease = "FakeOS";
    return r;
  }

  StatusOr<std::map<std::string, std::string>> fetch(
      const std::vector<std::string>& paths) override {
    std::map<std::string, std::string> out;
    for (const std::string& p : paths) {
      if (files.count(p) != 0) out[p] = files[p].content;
    }
    return out;
  }

  Status writeFile(const runtime::FileSpec& file, const std::string& content,
                   const std::optional<std::string>& ifCurrentSha256) override {
    if (Status s = precondition(file.path, ifCurrentSha256); !s.ok()) return s;
    actions.push_back("write " + file.path);
    files[file.path] = File{content, file, false};
    return okStatus();
  }

  Status writeFileFrom(const runtime::FileSpec& file, const runtime::LocalFile& source,
                       const std::optional<std::string>& ifCurrentSha256) override {
    std::ifstream in(source.path, std::ios::binary);
    if (!in) return unavailable("cannot read " + source.path);
    std::stringstream content;
    content << in.rdbuf();
    return writeFile(file, content.str(), ifCurrentSha256);
  }

  Status replaceBlock(const std::string& path, const std::string& newBlock,
                      const std::optional<std::string>& ifCurrentSha256) override {
    if (Status s = precondition(path, ifCurrentSha256); !s.ok()) return s;
    actions.push_back("edit " + path);
    File& f = files[path];
    if (f.spec.path.empty()) f.spec = runtime::FileSpec{path, "root", "root", 0644};
    f.content = withBlock(f.content, newBlock);
    return okStatus();
  }

  // As replaceBlockScript does it: the first block is replaced where it stands, later copies
  // go, every other line keeps its order; a file without a block gets it at the end.
  static std::string withBlock(const std::string& content, const std::string& newBlock) {
    std::string out;
    bool inside = false;
    bool placed = false;
    size_t start = 0;
    while (start < content.size()) {
      size_t end = content.find('\n', start);
      if (end == std::string::npos) end = content.size();
      const std::string line = content.substr(start, end - start);
      if (line == runtime::kBlockBegin && !inside) {
        inside = true;
        if (!placed) out += newBlock;
        placed = true;
      }
      if (!inside) out += line + (end < content.size() ? "\n" : "");
      if (line == runtime::kBlockEnd) inside = false;
      start = end + 1;
    }
    if (placed || newBlock.empty()) return out;
    if (!out.empty() && out.back() != '\n') out += "\n";
    return out + newBlock;
  }

  Status ensureDirectory(const runtime::FileSpec& dir) override {
    actions.push_back("mkdir " + dir.path);
    files[dir.path] = File{"", dir, true};
    return okStatus();
  }

  Status removeFile(const std::string& path) override {
    actions.push_back("remove " + path);
    files.erase(path);
    return okStatus();
  }

  // A script that is not a typed command: recorded, answered by runResult.
  Status run(const std::string& script) override {
    actions.push_back("run " + script);
    return runResult ? runResult(script) : okStatus();
  }

  // Acts a typed command out as the host would: units enable, start, restart, reload and stop;
  // modules load; running sysctls change; links appear. Recorded in `actions` as "run <its
  // script>" and in `commands`; runResult, when set, can fail it first (then nothing changes).
  // Stricter than systemd in one way: starting a unit whose file changed since the last
  // daemon-reload fails, so a plan that forgets the reload fails its tests.
  Status perform(const runtime::HostCommand& c) override {
    const std::string script = runtime::commandScript(c);
    actions.push_back("run " + script);
    commands.push_back(c);
    if (runResult) {
      if (Status s = runResult(script); !s.ok()) return s;
    }
    using Kind = runtime::HostCommand::Kind;
    switch (c.kind) {
      case Kind::kDaemonReload:
        for (const auto& [path, f] : files) {
          if (path.starts_with(kUnitDir) && !f.directory) {
            const std::string unit = path.substr(kUnitDir.size());
            loadedUnitFiles[unit] = f.content;
            runtime::UnitState& u = units[unit];
            u.loadState = "loaded";
            // What systemctl show says of a unit it just loaded and never started.
            if (u.unitFileState.empty()) u.unitFileState = "disabled";
            if (u.activeState.empty()) u.activeState = "inactive";
            if (u.subState.empty()) u.subState = "dead";
          }
        }
        return okStatus();
      case Kind::kEnableUnit:
        if (!knownUnit(c.name)) return notFound(c.name);
        units[c.name].unitFileState = "enabled";
        return okStatus();
      case Kind::kDisableUnitNow:
        if (!knownUnit(c.name)) return notFound(c.name);
        units[c.name].unitFileState = "disabled";
        units[c.name].activeState = "inactive";
        units[c.name].subState = "dead";
        return okStatus();
      case Kind::kStartUnit:
      case Kind::kRestartUnit:
        return start(c.name, c.kind == Kind::kRestartUnit);
      case Kind::kReloadUnit:
        if (!active(c.name)) return failed(c.name + " is not active, cannot reload");
        return okStatus();
      case Kind::kCheckUnitActive:
        return active(c.name) ? okStatus() : failed(c.name + " is not active");
      case Kind::kLoadModule:
        modules[c.name] = true;
        return okStatus();
      case Kind::kSetSysctls:
        for (const auto& [key, value] : c.values) {
          if (sysctls.count(key) == 0) return failed("/proc/sys/" + key + ": No such file");
        }
        for (const auto& [key, value] : c.values) sysctls[key] = value;
        return okStatus();
      case Kind::kLink:
        files[c.name] =
            File{c.target, runtime::FileSpec{c.name, "root", "root", 0777}, false, true};
        return okStatus();
      case Kind::kHaproxyServerState:
        haproxyServers[c.target + "/" + c.name] = c.state;
        return okStatus();
      case Kind::kNone:
      case Kind::kWaitPortReleased:
      case Kind::kCheckHttps:
      case Kind::kHttpRequest:
        return okStatus();
    }
    return okStatus();
  }

  std::string describe() const override { return "fake"; }
  std::string hostKeyFingerprint() const override { return "SHA256:fake"; }
  uint64_t roundTrips() const override { return static_cast<uint64_t>(probes); }

  std::optional<std::string> block(const std::string& path) const {
    auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    const std::string& c = it->second.content;
    const size_t b = c.find(runtime::kBlockBegin);
    if (b == std::string::npos) return std::nullopt;
    const std::string end = std::string(runtime::kBlockEnd) + "\n";
    const size_t e = c.find(end, b);
    return c.substr(b, e == std::string::npos ? std::string::npos : e + end.size() - b);
  }

 private:
  static constexpr std::string_view kUnitDir = "/etc/systemd/system/";

  bool knownUnit(const std::string& unit) const {
    return units.count(unit) != 0 || files.count(std::string(kUnitDir) + unit) != 0;
  }
  bool active(const std::string& unit) const {
    auto it = units.find(unit);
    return it != units.end() && it->second.activeState == "active";
  }
  static Status failed(const std::string& message) {
    return Status(StatusCode::kFailedPrecondition, message);
  }
  static Status notFound(const std::string& unit) {
    return failed("Failed: Unit " + unit + " not found.");
  }
  Status start(const std::string& unit, bool restart) {
    if (!knownUnit(unit)) return notFound(unit);
    auto file = files.find(std::string(kUnitDir) + unit);
    if (file != files.end()) {
      auto loaded = loadedUnitFiles.find(unit);
      if (loaded != loadedUnitFiles.end() && loaded->second != file->second.content) {
        return failed(unit + " changed on disk; run systemctl daemon-reload first");
      }
      loadedUnitFiles[unit] = file->second.content;
    }
    runtime::UnitState& u = units[unit];
    if (u.activeState == "active" && !restart) return okStatus();
    u.loadState = "loaded";
    u.activeState = "active";
    u.subState = "running";
    u.activeEnterTimestampMonotonic = std::to_string(++starts_);
    return okStatus();
  }

  uint64_t starts_ = 0;

  Status precondition(const std::string& path, const std::optional<std::string>& want) {
    if (!want) return okStatus();
    auto it = files.find(path);
    const std::string have = it == files.end() ? "" : runtime::sha256Hex(it->second.content);
    if (have != *want) return Status(StatusCode::kAborted, path + " changed since it was read");
    return okStatus();
  }
};

}  // namespace kthw::testing
