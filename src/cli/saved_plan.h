#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "reconcilers/plan.h"
#include "reconcilers/rbac_reconciler.h"

namespace kthw::cli {

// A plan as `kthw diff --out-plan` saves it and `kthw apply --plan` checks it: what each action
// does and the hashes it rests on, never the bytes it would write (keys must not reach the file).
struct PlannedAction {
  std::string type;  // actionTypeName
  std::string resource;
  std::string target;
  std::string summary;
  std::string reason;
  std::string rollout;     // "", "start" or "restart"
  std::string attributes;  // "root:root 0600" for files and directories, else empty
  // The host's content the write is guarded by (Action::ifCurrentSha256); nullopt: unguarded.
  std::optional<std::string> ifCurrentSha256;
  // sha256 of what would be written (file, block) or run (command); empty for the other types.
  std::string contentSha256;
};

struct PlannedHost {
  std::string name;
  bool reachable = true;
  std::vector<PlannedAction> actions;
};

struct PlannedRbacAction {
  std::string type;  // rbacActionName
  std::string kind;
  std::string name;
  std::string bodySha256;
};

struct SavedPlan {
  std::string documentsSha256;
  std::vector<PlannedHost> hosts;
  // nullopt when the plan did not compare RBAC objects (not selected, or the API unreachable).
  std::optional<std::vector<PlannedRbacAction>> rbac;

  const PlannedHost* findHost(std::string_view name) const;
};

PlannedAction plannedAction(const reconcilers::Action& action);
PlannedHost plannedHost(const reconcilers::HostPlan& plan, bool reachable);
std::vector<PlannedRbacAction> plannedRbac(const reconcilers::RbacPlan& plan);

// sha256 over the documents' JSON form, in load order: comments and layout do not count.
std::string documentsSha256(const std::vector<std::string>& documentsJson);

std::string savedPlanJson(const SavedPlan& plan);
StatusOr<SavedPlan> parseSavedPlan(std::string_view json);
// Atomically, mode 0600.
Status writeSavedPlan(const std::string& path, const SavedPlan& plan);
StatusOr<SavedPlan> readSavedPlan(const std::string& path);

// What differs between the saved plan of a host and its plan now, one sentence each ("x.pem
// changed since the plan (sha256 ab12… now cd34…)"); empty when both are the same actions with
// the same hashes in the same order. `saved` is null when the host was not in the plan.
std::vector<std::string> hostPlanChanges(const PlannedHost* saved, const PlannedHost& now);
std::vector<std::string> rbacPlanChanges(const std::optional<std::vector<PlannedRbacAction>>& saved,
                                         const std::vector<PlannedRbacAction>& now);

}  // namespace kthw::cli
