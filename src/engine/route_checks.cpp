#include "engine/route_checks.h"

#include "reconcilers/load_balancer_reconciler.h"
#include "runtime/https_client.h"

namespace kthw::engine {

std::map<std::string, Status> checkRoutes(
    const resources::DesiredState& state,
    const std::map<std::string, reconcilers::BundleMaterial>& material) {
  std::map<std::string, Status> out;
  for (const resources::LoadBalancer& lb : state.loadBalancers) {
    if (lb.routeBundle.empty()) continue;
    // An authority still to be issued (diff before the first apply, or with an emptied store)
    // says nothing about routing: the route is not checked, and diff reports the material as
    // pending instead.
    auto m = material.find(lb.routeBundle);
    if (m == material.end() || !m->second.has(lb.routeAuthority)) continue;
    runtime::HttpsClient client({m->second.certificates.at(lb.routeAuthority), "", ""});
    auto target = reconcilers::routeCheckUrl(lb);
    if (!target.ok()) {
      out[lb.name()] = target.status();
      continue;
    }
    const std::string& url = *target;
    auto r = client.request("GET", url, "", "", std::chrono::seconds(5));
    if (!r.ok()) {
      out[lb.name()] = r.status();
    } else if (r->status != 200) {
      out[lb.name()] = unavailable("GET " + url + ": HTTP " + std::to_string(r->status));
    } else {
      out[lb.name()] = okStatus();
    }
  }
  return out;
}

}  // namespace kthw::engine
