#include "reconcilers/host_reconciler.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "reconcilers/file_sync.h"
#include "reconcilers/unified_diff.h"
#include "runtime/digest.h"
#include "runtime/host_files.h"

namespace kthw::reconcilers {
namespace {

using runtime::FileState;
using runtime::FileType;

std::string normalizeSpaces(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// A sysctl value as a message shows it: quoted when it has spaces (tcp_rmem's three numbers) or
// is empty, cut when long.
std::string shownValue(const std::string& value) {
  std::string v = value.size() > 80 ? value.substr(0, 80) + "..." : value;
  if (v.empty() || v.find(' ') != std::string::npos) v = "\"" + v + "\"";
  return v;
}

std::string sysctlFileContent(const resources::Host& h) {
  if (h.sysctls.empty()) return "";
  std::string out = "# Managed by kthw (Host/" + h.name() + ").\n";
  for (const auto& [key, value] : h.sysctls) out += key + " = " + value + "\n";
  return out;
}

std::string modulesFileContent(const resources::Host& h) {
  if (h.kernelModules.empty()) return "";
  std::string out = "# Managed by kthw (Host/" + h.name() + ").\n";
  for (const std::string& m : h.kernelModules) out += m + "\n";
  return out;
}

// Entries of a block, by IP, for a summary such as "1 entry added, 1 changed".
std::map<std::string, std::string> blockEntries(const std::string& block) {
  std::map<std::string, std::string> out;
  std::istringstream in(block);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    out[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return out;
}

std::string entrySummary(const std::string& before, const std::string& after) {
  const auto a = blockEntries(before);
  const auto b = blockEntries(after);
  std::vector<std::string> parts;
  for (const auto& [ip, names] : b) {
    auto it = a.find(ip);
    if (it == a.end())
      parts.push_back("+" + ip + " " + names);
    else if (it->second != names)
      parts.push_back("~" + ip + " " + names);
  }
  for (const auto& [ip, names] : a) {
    if (b.count(ip) == 0) parts.push_back("-" + ip + " " + names);
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "markers" : out;
}

// Writes `content` to `path` if it differs; removes the file when `content` is empty.
// Returns whether an action was added.
bool syncOrRemove(const std::string& resource, const std::string& path, const std::string& content,
                  const runtime::ProbeResult& observed, HostPlan& plan) {
  const FileState& st = observed.file(path);
  if (content.empty()) {
    if (st.type == FileType::kAbsent) return false;
    plan.actions.push_back(
        makeAction(ActionType::kRemoveFile, resource, path, "remove " + path, "no longer desired"));
    return true;
  }
  return reconcilers::syncFile(resource, runtime::FileSpec{path, "root", "root", 0644}, content,
                               observed, plan);
}

}  // namespace

std::string etcHostsBlock(const resources::Host& host) {
  if (host.etcHosts.empty()) return "";
  std::string out = std::string(runtime::kBlockBegin) + "\n";
  for (const auto& e : host.etcHosts) {
    out += e.ip;
    for (const std::string& n : e.names) out += " " + n;
    out += "\n";
  }
  return out + runtime::kBlockEnd + "\n";
}

void HostBasicsReconciler::observe(const resources::Host& host,
                                   runtime::ProbeRequest& request) const {
  for (const auto& d : host.directories) request.addPath(d.path);
  request.addPath(kEtcHosts);
  request.blocks.push_back(kEtcHosts);
  request.addPath(kSysctlFile);
  request.addPath(kModulesFile);
  for (const auto& [key, value] : host.sysctls) request.sysctls.push_back(key);
  for (const std::string& m : host.kernelModules) request.modules.push_back(m);
}

void HostBasicsReconciler::diff(const resources::Host& host, const runtime::ProbeResult& observed,
                                HostPlan& plan) const {
  const std::string resource = "Host/" + host.name();
  plan.addResource(resource);
  for (const auto& d : host.directories) {
    const FileState& st = observed.file(d.path);
    const auto& want = d.attributes;
    std::string reason;
    if (st.type == FileType::kAbsent) {
      reason = "absent";
    } else if (st.type != FileType::kDirectory) {
      plan.problems.push_back(d.path + " exists but is not a directory; kthw will not replace it");
      continue;
    } else if (st.owner != want.owner || st.group != want.group || st.mode != want.mode) {
      reason = st.owner + ":" + st.group + " " + runtime::formatMode(st.mode) + ", want " +
               want.owner + ":" + want.group + " " + runtime::formatMode(want.mode);
    }
    if (reason.empty()) continue;
    Action a =
        makeAction(ActionType::kEnsureDirectory, resource, d.path, "directory " + d.path, reason);
    a.file = runtime::FileSpec{d.path, want.owner, want.group, want.mode};
    plan.actions.push_back(std::move(a));
  }

  const std::string desiredBlock = etcHostsBlock(host);
  const std::string observedBlock =
      observed.blocks.count(kEtcHosts) != 0 ? observed.blocks.at(kEtcHosts).value_or("") : "";
  if (desiredBlock != observedBlock) {
    Action a = makeAction(
        ActionType::kReplaceBlock, resource, kEtcHosts,
        std::string("update ") + kEtcHosts + " (" + entrySummary(observedBlock, desiredBlock) + ")",
        observedBlock.empty() ? "managed block absent" : "managed block differs");
    a.content = desiredBlock;
    const FileState& st = observed.file(kEtcHosts);
    a.ifCurrentSha256 = st.type == FileType::kAbsent ? "" : st.sha256;
    a.diff = unifiedDiff(observedBlock, desiredBlock, std::string(kEtcHosts) + " (kthw block)");
    plan.actions.push_back(std::move(a));
  }

  syncOrRemove(resource, kSysctlFile, sysctlFileContent(host), observed, plan);
  std::vector<std::pair<std::string, std::string>> apply;
  std::string changes;  // "net.ipv4.ip_forward to 1 (found 0)", one per key
  size_t changed = 0;
  for (const auto& [key, value] : host.sysctls) {
    auto it = observed.sysctls.find(key);
    if (it == observed.sysctls.end() || !it->second) {
      plan.problems.push_back("sysctl " + key +
                              " does not exist on this host (its module is not loaded, or a "
                              "container hides it)");
      continue;
    }
    const std::string found = normalizeSpaces(*it->second);
    if (found == normalizeSpaces(value)) continue;
    changes += (changes.empty() ? "" : ", ") + key + " to " + shownValue(normalizeSpaces(value)) +
               " (found " + shownValue(found) + ")";
    ++changed;
    apply.emplace_back(key, value);
  }
  if (!apply.empty()) {
    // The summary names every key with the value found and the one wanted, so that diff and
    // apply's progress lines say what changes in the running kernel.
    Action a = makeAction(ActionType::kRunCommand, resource, "sysctl",
                          (changed == 1 ? "set sysctl " : "set sysctls ") + changes,
                          changed == 1 ? "running value differs" : "running values differ");
    a.command = runtime::HostCommand::setSysctls(std::move(apply));
    plan.actions.push_back(std::move(a));
  }

  syncOrRemove(resource, kModulesFile, modulesFileContent(host), observed, plan);
  for (const std::string& m : host.kernelModules) {
    auto it = observed.modules.find(m);
    if (it != observed.modules.end() && it->second) continue;
    Action a = makeAction(ActionType::kRunCommand, resource, "module " + m, "load module " + m,
                          "not loaded");
    a.command = runtime::HostCommand::loadModule(m);
    plan.actions.push_back(std::move(a));
  }
}

std::string_view actionTypeName(ActionType type) {
  switch (type) {
    case ActionType::kEnsureDirectory:
      return "mkdir";
    case ActionType::kWriteFile:
      return "write";
    case ActionType::kReplaceBlock:
      return "edit";
    case ActionType::kRemoveFile:
      return "remove";
    case ActionType::kRunCommand:
      return "run";
  }
  return "action";
}

}  // namespace kthw::reconcilers
