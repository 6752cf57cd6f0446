#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/conditions.h"
#include "engine/converge.h"
#include "engine/host_pass.h"

namespace kthw::cli {

using engine::IssuedCertificate;
using engine::RbacOutcome;
using engine::RbacWrite;

struct ApplyTotals {
  size_t hosts = 0;
  size_t changed = 0;  // hosts where an action ran
  size_t done = 0;
  size_t failed = 0;
  size_t skipped = 0;                     // not run because the action before failed
  std::vector<std::string> notConverged;  // hosts, in outcome order
};

ApplyTotals applyTotals(const std::vector<engine::HostOutcome>& outcomes);

// Everything kthw apply reports, in the order it happens.
struct ApplyReport {
  std::vector<IssuedCertificate> issued;
  std::vector<engine::HostOutcome> hosts;
  std::optional<RbacOutcome> rbac;       // when the run included RBAC
  std::map<std::string, Status> routes;  // by LoadBalancer name: the frontend answers or not
  std::map<std::string, engine::ConditionSet> conditions;  // by Kind/name
  int exitCode = 0;
};

// The report as one JSON document: {"exitCode", "hosts", "refused", "issued", "rbac", "routes",
// "conditions", "totals"}. A host's actions have the shape of diff -o json's plus "outcome"
// (done, failed, skipped, or not-run when the host was refused, locked or unreachable) and
// "error"; no action carries content or a diff.
std::string applyJson(const ApplyReport& report);

}  // namespace kthw::cli
