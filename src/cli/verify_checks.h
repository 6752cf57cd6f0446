#pragma once

// The rows kthw verify prints, shared by its host checks (command_verify.cpp) and its API checks
// (verify_api.cpp).
#include <rapidjson/document.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/pass_context.h"
#include "resources/desired_state.h"

namespace kthw::cli::verify {

enum class Result { kPass, kFail, kSkip };

struct Check {
  std::string name;
  std::string target;
  Result result = Result::kFail;
  std::string detail;
};

const char* resultName(Result r);

inline Check pass(std::string name, std::string target, std::string detail) {
  return {std::move(name), std::move(target), Result::kPass, std::move(detail)};
}
inline Check fail(std::string name, std::string target, std::string detail) {
  return {std::move(name), std::move(target), Result::kFail, std::move(detail)};
}
inline Check skip(std::string name, std::string target, std::string detail) {
  return {std::move(name), std::move(target), Result::kSkip, std::move(detail)};
}

std::optional<rapidjson::Document> parseJson(const std::string& text);
// The string member `key` of an object, or "".
std::string jsonString(const rapidjson::Value& v, const char* key);

// One table: CHECK, TARGET, RESULT, DETAIL.
void printTable(const std::vector<Check>& checks, std::ostream& out);
// {"checks": [...], "failed": N}
void printJson(const std::vector<Check>& checks, std::ostream& out);

// Through each load balancer's frontend and the API server: /version, component statuses, the
// leader leases, and whether the apiserver's kubelet client may reach nodes/proxy.
std::vector<Check> apiChecks(const resources::DesiredState& state, const std::string& kubeconfig,
                             const engine::PassContext& context);

}  // namespace kthw::cli::verify
