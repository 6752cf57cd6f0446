#pragma once

#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/digest.h"
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
  };

  std::map<std::string, File> files;
  std::map<std::string, std::string> sysctls;  // present keys and their values
  std::map<std::string, bool> modules;
  bool systemctl = false;                           // probes report systemctl when set
  std::map<std::string, runtime::UnitState> units;  // as systemctl reports them
  std::vector<std::string> actions;  // "write /etc/x", "mkdir /etc/y", "run ...", ...
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
      st.type = it->second.directory ? runtime::FileType::kDirectory : runtime::FileType::kFile;
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

  Status run(const std::string& script) override {
    actions.push_back("run " + script);
    if (script.starts_with("modprobe")) {
      const size_t quote = script.find('\'');
      modules[script.substr(quote + 1, script.rfind('\'') - quote - 1)] = true;
    }
    if (script.find("/proc/sys/") != std::string::npos) {
      // printf '%s\n' 'VALUE' > '/proc/sys/a/b'
      const size_t v1 = script.find("' '") + 3;
      const std::string value = script.substr(v1, script.find('\'', v1) - v1);
      const size_t p1 = script.find("/proc/sys/") + 10;
      std::string key = script.substr(p1, script.find('\'', p1) - p1);
      for (char& c : key) c = c == '/' ? '.' : c;
      sysctls[key] = value;
    }
    return runResult ? runResult(script) : okStatus();
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
  Status precondition(const std::string& path, const std::optional<std::string>& want) {
    if (!want) return okStatus();
    auto it = files.find(path);
    const std::string have = it == files.end() ? "" : runtime::sha256Hex(it->second.content);
    if (have != *want) return Status(StatusCode::kAborted, path + " changed since it was read");
    return okStatus();
  }
};

}  // namespace kthw::testing
