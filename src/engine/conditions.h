#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace kthw::engine {

enum class ConditionStatus { kTrue, kFalse, kUnknown };

// As apimachinery's metav1.Condition: the transition time moves only when the status changes.
struct Condition {
  std::string type;  // Ready, Progressing, Degraded
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;  // CamelCase
  std::string message;
  int64_t observedGeneration = 0;
  std::chrono::system_clock::time_point lastTransitionTime;
};

class ConditionSet {
 public:
  // Records a condition; keeps the previous transition time when the status is unchanged.
  void set(const std::string& type, ConditionStatus status, const std::string& reason,
           const std::string& message, int64_t generation,
           std::chrono::system_clock::time_point now);
  const Condition* get(const std::string& type) const;
  const std::vector<Condition>& all() const { return conditions_; }

 private:
  std::vector<Condition> conditions_;
};

std::string_view conditionStatusName(ConditionStatus s);

struct HostOutcome;

// The conditions of every resource touched by one host's pass: Ready when converged,
// Progressing while actions were applied or are pending, Degraded on problems, failures or an
// unreachable host. Keyed by "Kind/name".
void recordConditions(const HostOutcome& outcome, bool applied, int64_t generation,
                      std::chrono::system_clock::time_point now,
                      std::map<std::string, ConditionSet>& byResource);

}  // namespace kthw::engine
