#pragma once

#include <string>
#include <vector>

#include "reconcilers/plan.h"
#include "resources/control_plane_service.h"
#include "resources/host.h"
#include "resources/substitution.h"

namespace kthw::reconcilers {

// Whether `text` names `path` as a whole: the path is the text, or it stands between
// separators such as `=`, `,`, `:`, quotes or white space ("--etcd-cafile=/x/ca.pem",
// "a.pem,/x/ca.pem", `kubeconfig: "/x/ca.pem"`), and is not part of a longer path.
bool namesPath(const std::string& text, const std::string& path);

// Why `service` is held back on `host`: one problem per bundle the guard refused there
// (plan.guardedFiles, filled by the CertificateBundle reconciler earlier in the same plan) of
// which it reads a file — a flag's value, an argument, or a path in one of its config files,
// after substitution for `host`. A held-back service gets no write, install, start or restart on
// that host: it would run against material the guard leaves as it is. Empty when it reads none.
std::vector<std::string> holdBackProblems(const resources::ControlPlaneService& service,
                                          const resources::Host& host,
                                          const resources::Substituter& substituter,
                                          const HostPlan& plan);

}  // namespace kthw::reconcilers
