#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "resources/desired_state.h"
#include "runtime/api_client.h"

namespace kthw::reconcilers {

inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
// The one version of the RBAC API kthw talks to: every path and every body it sends.
inline constexpr const char* kRbacGroup = "rbac.authorization.k8s.io";
inline constexpr const char* kRbacVersion = "v1";
inline constexpr const char* kRbacApiVersion = "rbac.authorization.k8s.io/v1";

struct RbacAction {
  enum class Type { kDelete, kCreate, kUpdate, kRecreate };
  Type type = Type::kCreate;
  std::string kind;  // ClusterRole or ClusterRoleBinding
  std::string name;
  std::string reason;
  std::string diff;  // YAML, observed -> desired
  std::string body;  // the desired object as JSON
};

struct RbacPlan {
  std::vector<RbacAction> actions;  // deletions first
};

// The desired object as the API would hold it: the document as JSON, with apiVersion
// rbac.authorization.k8s.io/v1 and kthw's managed-by label.
std::string desiredRbacJson(const resources::RbacObject& object);

// Whether `observed` (from the API) serves `desired`: labels and annotations the desired state
// sets, rules (in order), aggregation, roleRef and subjects (with the API's defaulting of a
// subject's apiGroup); resourceVersion, uid, creationTimestamp, managedFields and extra labels
// or annotations others added are ignored.
bool rbacSemanticallyEqual(const std::string& desiredJson, const std::string& observedJson);

// GETs every desired object and LISTs the kthw-managed ones; the plan creates what is missing,
// updates what differs, recreates a binding whose roleRef changed (immutable), and deletes
// managed objects no longer desired.
StatusOr<RbacPlan> planRbac(const resources::DesiredState& state, runtime::ApiClient& api);

// Executes a plan; a 409 Conflict is retried with a fresh read. Returns one status per action.
std::vector<Status> applyRbac(const RbacPlan& plan, runtime::ApiClient& api);

std::string rbacActionName(RbacAction::Type t);

// The API path of the collection of `kind` (ClusterRole or ClusterRoleBinding), or of the
// object `name` in it; every segment percent-encoded (runtime/url_path.h).
StatusOr<std::string> rbacPath(const std::string& kind, const std::string& name = "");

// The JSON object as YAML (yaml_emitter.h), for diffs.
std::string jsonToYaml(const std::string& json);

}  // namespace kthw::reconcilers
