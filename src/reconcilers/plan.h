#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resources/diagnostic.h"
#include "runtime/exec_input.h"
#include "runtime/host_command.h"
#include "runtime/host_files.h"

namespace kthw::reconcilers {

enum class ActionType {
  kEnsureDirectory,
  kWriteFile,
  kReplaceBlock,
  kRemoveFile,
  kRunCommand,
};

// One typed step of a plan. Everything a person sees (summary, diff) is free of secrets; the
// content to write is only ever sent to the host.
struct Action {
  ActionType type = ActionType::kRunCommand;
  std::string resource;  // Kind/name that wants it
  std::string target;    // path, unit or key
  std::string summary;   // "update /etc/hosts: 1 entry added"
  std::string reason;    // why: "absent", "content differs", "mode 0644, want 0600"
  runtime::FileSpec file;
  std::string content;
  // For a binary: a local file whose bytes are written instead of `content` (streamed).
  std::optional<runtime::LocalFile> contentFile;
  std::optional<std::string> ifCurrentSha256;
  runtime::HostCommand command;  // for kRunCommand
  // Skipped when the action before it failed (e.g. apply sysctls after writing their file).
  bool needsPrevious = false;
  // Set when the diff needs the host's current content (fetched only when a diff is shown).
  bool showContentDiff = false;
  std::string diff;  // unified diff or summary for people; never secret material
  // Service starts and restarts run after every host's file actions, one group (service) at a
  // time in rolloutOrder: starts on all its hosts, then a health wait; restarts one host at a
  // time, each health-gated, never while another member is unhealthy.
  enum class Rollout { kNone, kStart, kRestart };
  Rollout rollout = Rollout::kNone;
  std::string rolloutGroup;
  int rolloutOrder = 0;
  // A restart behind a load balancer: the backend leaves the rotation (a script run on the load
  // balancer's host) before the restart and comes back once the service is healthy again.
  struct Drain {
    std::string host;      // the load balancer's Host
    std::string resource;  // LoadBalancer/name, for messages
    runtime::HostCommand disable;
    runtime::HostCommand enable;
  };
  std::vector<Drain> drains;
};

// A check run on the host that succeeds when the service is healthy.
struct HealthProbe {
  runtime::HostCommand check;
  std::string description;  // the URL, for messages
  int timeoutSeconds = 120;
};

inline Action makeAction(ActionType type, std::string resource, std::string target,
                         std::string summary, std::string reason) {
  Action a;
  a.type = type;
  a.resource = std::move(resource);
  a.target = std::move(target);
  a.summary = std::move(summary);
  a.reason = std::move(reason);
  return a;
}

// The plan for one host, from one probe.
struct HostPlan {
  std::string host;
  std::vector<std::string> resources;  // Kind/name of every resource with a share on this host
  std::string transport;
  std::vector<Action> actions;
  std::vector<std::string> problems;  // observed trouble that no action can fix
  // Of those, the problems of the desired state itself (a value a unit or a configuration cannot
  // carry, a substitution that does not resolve for this host), at their file:line:col.
  resources::Diagnostics inputProblems;
  // Kind/name whose files this host refused: precious material the store did not create is
  // there (see CertificateBundleReconciler). Such a resource is not distributed to this host.
  std::vector<std::string> guarded;
  // Every file those resources place on this host, path -> Kind/name: what the guard leaves as
  // it is. A service that reads one is held back on this host (ControlPlaneServiceReconciler).
  std::map<std::string, std::string> guardedFiles;
  std::map<std::string, HealthProbe> health;  // by rollout group, for every service on the host
  std::string osRelease;
  std::string kernel;
  std::string hostKeyFingerprint;

  bool converged() const { return actions.empty() && problems.empty(); }
  void addResource(const std::string& r) {
    if (std::find(resources.begin(), resources.end(), r) == resources.end()) resources.push_back(r);
  }
};

std::string_view actionTypeName(ActionType type);

}  // namespace kthw::reconcilers
