#pragma once

#include "resources/desired_state.h"

namespace kthw::resources {

// Typed views of documents that passed schema validation (so shapes and defaults are known).
ObjectMeta toObjectMeta(const Node& metadata, const Mark& documentMark);
Host toHost(const Node& doc, ObjectMeta meta);
CertificateBundle toCertificateBundle(const Node& doc, ObjectMeta meta);
ControlPlaneService toControlPlaneService(const Node& doc, ObjectMeta meta);
LoadBalancer toLoadBalancer(const Node& doc, ObjectMeta meta);
RbacObject toRbacObject(const Node& doc, ObjectMeta meta);

}  // namespace kthw::resources
