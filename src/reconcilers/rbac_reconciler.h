#pragma once

#include <map>
#include <optional>
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

// What the API holds of the objects the RBAC plan concerns, keyed "Kind/name" (rbacKey).
struct ObservedRbac {
  // Each desired object as a GET returned it (JSON), nullopt when it answered 404. An object
  // with no entry counts as absent.
  std::map<std::string, std::optional<std::string>> objects;
  // Every object the LISTs by kthw's managed-by label returned (JSON), ClusterRoleBindings
  // first: the candidates for pruning. Objects without the label are never here.
  std::vector<std::pair<std::string, std::string>> managed;
};

// "ClusterRole/name" or "ClusterRoleBinding/name".
std::string rbacKey(const std::string& kind, const std::string& name);

// The plan, with no I/O: it deletes the managed objects no longer desired (in the order of
// `observed.managed`), then, in the desired state's order, creates what is absent, updates what
// differs and recreates a binding whose roleRef changed (immutable).
RbacPlan diffRbac(const resources::DesiredState& state, const ObservedRbac& observed);

// GETs every desired object and LISTs the kthw-managed ones, then diffRbac.
StatusOr<ObservedRbac> observeRbac(const resources::DesiredState& state, runtime::ApiClient& api);
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
