#pragma once

#include <istream>
#include <string>
#include <vector>

#include "resources/certificate_bundle.h"
#include "resources/control_plane_service.h"
#include "resources/diagnostic.h"
#include "resources/host.h"
#include "resources/load_balancer.h"
#include "resources/rbac.h"
#include "resources/yaml_loader.h"

namespace kthw::resources {

// The whole desired state: every document of every kind, typed, validated and cross-checked.
struct DesiredState {
  std::vector<Host> hosts;
  std::vector<CertificateBundle> bundles;
  std::vector<ControlPlaneService> services;
  std::vector<LoadBalancer> loadBalancers;
  std::vector<RbacObject> rbac;

  const Host* findHost(std::string_view name) const;
  const LoadBalancer* findLoadBalancer(std::string_view name) const;
  const CertificateBundle* findBundle(std::string_view name) const;
  // Whether `target` selects `host`: it is named, or carries every selector label.
  bool selects(const HostTarget& target, const Host& host) const;
  // Hosts a target selects, sorted by name.
  std::vector<const Host*> select(const HostTarget& target) const;
  size_t resourceCount() const;
};

struct LoadOutcome {
  DesiredState state;
  Diagnostics errors;        // sorted by file, line, column; empty when the state is valid
  size_t omittedErrors = 0;  // more errors the loader counted but did not keep
  // What is accepted but should change, e.g. a deprecated apiVersion converted to the one kthw
  // sends; sorted like errors. Warnings never make a state invalid.
  Diagnostics warnings;

  bool ok() const { return errors.empty(); }
  // What to print: at most kMaxPrintedDiagnostics lines, then how many more.
  std::vector<std::string> errorLines() const { return diagnosticLines(errors, omittedErrors); }
  // The warnings as `FILE:LINE:COL: warning: FIELD: message` lines.
  std::vector<std::string> warningLines() const;
  size_t errorCount() const { return errors.size() + omittedErrors; }
};

// Validates parsed documents against the schemas and each other. Any error means the state must
// not be acted on: the caller keeps its last good state.
LoadOutcome buildDesiredState(std::vector<Document> documents);
// The same for loaded documents; the loader's errors come first at one position (the cause
// before what it leads to).
LoadOutcome buildDesiredState(LoadResult loaded);

// Loads and validates the documents under `paths` (files, directories, "-" for stdin).
LoadOutcome loadDesiredState(const std::vector<std::string>& paths, std::istream& standardInput,
                             const LoadLimits& limits = {});

}  // namespace kthw::resources
