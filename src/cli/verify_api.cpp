// kthw verify's checks through the API server: what `kubectl version`, `kubectl get
// componentstatuses`, the leader leases and `kubectl auth can-i` would tell an operator.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "cli/verify_checks.h"
#include "engine/api_access.h"
#include "runtime/api_client.h"
#include "runtime/url_path.h"

namespace kthw::cli::verify {
namespace {

class ApiVerifier {
 public:
  explicit ApiVerifier(const resources::DesiredState& state) : state_(state) {}

  void run(const std::string& kubeconfig, const engine::PassContext& context) {
    auto creds = engine::apiCredentials(state_, context.material(), kubeconfig);
    if (!creds.ok()) {
      checks_.push_back(fail("API via LB", "-", creds.status().message()));
      return;
    }
    if (state_.loadBalancers.empty()) {
      checks_.push_back(skip("API via LB", "-", "no LoadBalancer in the desired state"));
    }
    for (const resources::LoadBalancer& lb : state_.loadBalancers) {
      runtime::ApiCredentials c = *creds;
      c.server = "https://" + lb.frontendAddress + ":" + std::to_string(lb.frontendPort);
      runtime::HttpsApiClient client(c);
      auto r = client.call("GET", "/version");
      const std::string target = "LoadBalancer/" + lb.name();
      if (!r.ok()) {
        checks_.push_back(fail("API via LB", target, r.status().message()));
      } else if (r->status != 200) {
        checks_.push_back(fail("API via LB", target, "HTTP " + std::to_string(r->status)));
      } else {
        auto d = parseJson(r->body);
        checks_.push_back(pass("API via LB", target,
                               c.server + " answers " + (d ? jsonString(*d, "gitVersion") : "")));
      }
    }
    runtime::HttpsApiClient api(*creds);
    componentStatuses(api);
    leases(api);
    kubeletAccess(api);
  }

  std::vector<Check> checks() && { return std::move(checks_); }

 private:
  bool hasComponent(const std::string& component) const {
    return std::any_of(state_.services.begin(), state_.services.end(),
                       [&](const auto& s) { return s.component == component; });
  }

  void componentStatuses(runtime::ApiClient& api) {
    auto r = api.call("GET", "/api/v1/componentstatuses");
    if (!r.ok() || r->status != 200) {
      checks_.push_back(fail("component statuses", "-",
                             r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
      return;
    }
    auto d = parseJson(r->body);
    auto items = d ? d->FindMember("items") : rapidjson::Value::MemberIterator();
    if (!d || items == d->MemberEnd() || !items->value.IsArray()) {
      checks_.push_back(fail("component statuses", "-", "the answer has no items"));
      return;
    }
    for (const auto& item : items->value.GetArray()) {
      std::string name;
      auto meta = item.FindMember("metadata");
      if (meta != item.MemberEnd()) name = jsonString(meta->value, "name");
      std::string healthy = "Unknown";
      std::string message;
      auto conds = item.FindMember("conditions");
      if (conds != item.MemberEnd() && conds->value.IsArray()) {
        for (const auto& c : conds->value.GetArray()) {
          if (jsonString(c, "type") == "Healthy") {
            healthy = jsonString(c, "status");
            message = jsonString(c, "message") + jsonString(c, "error");
          }
        }
      }
      const std::string detail = resources::escapeValue(message.substr(0, 120));
      checks_.push_back(
          healthy == "True"
              ? pass("component statuses", name, "Healthy" + (detail.empty() ? "" : ": " + detail))
              : fail("component statuses", name, "Healthy=" + healthy + ": " + detail));
    }
  }

  void leases(runtime::ApiClient& api) {
    for (const std::string component : {"kube-controller-manager", "kube-scheduler"}) {
      if (!hasComponent(component)) {
        checks_.push_back(skip("leader lease", component, "not in the desired state"));
        continue;
      }
      auto r = api.call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" +
                                   runtime::percentEncode(component));
      if (!r.ok() || r->status != 200) {
        checks_.push_back(
            fail("leader lease", component,
                 r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
        continue;
      }
      auto d = parseJson(r->body);
      auto spec = d ? d->FindMember("spec") : rapidjson::Value::MemberIterator();
      if (!d || spec == d->MemberEnd()) {
        checks_.push_back(fail("leader lease", component, "the Lease has no spec"));
        continue;
      }
      const std::string holder = jsonString(spec->value, "holderIdentity");
      const std::string renewed = jsonString(spec->value, "renewTime");
      const auto age = secondsSince(renewed);
      if (holder.empty()) {
        checks_.push_back(fail("leader lease", component, "nobody holds it"));
      } else if (!age || *age > 60) {
        checks_.push_back(
            fail("leader lease", component,
                 "held by " + holder + ", last renewed " + (renewed.empty() ? "never" : renewed)));
      } else {
        checks_.push_back(pass("leader lease", component,
                               "held by " + resources::escapeValue(holder) + ", renewed " +
                                   std::to_string(*age) + "s ago"));
      }
    }
  }

  // The user of the certificate the apiserver presents to kubelets (CN of the bundle's
  // certificate installed at --kubelet-client-certificate).
  std::optional<std::string> kubeletClientUser() const {
    for (const resources::ControlPlaneService& s : state_.services) {
      if (s.component != "kube-apiserver") continue;
      for (const resources::Flag& f : s.flags) {
        if (f.name != "kubelet-client-certificate") continue;
        for (const resources::CertificateBundle& b : state_.bundles) {
          for (const resources::BundleFile& file : b.files) {
            if (file.path != f.value.value || file.kind != resources::ContentKind::kCertificate)
              continue;
            for (const resources::Certificate& c : b.certificates) {
              if (c.name == file.source) return c.subject.commonName;
            }
          }
        }
      }
    }
    return std::nullopt;
  }

  void kubeletAccess(runtime::ApiClient& api) {
    const auto user = kubeletClientUser();
    if (!user) {
      checks_.push_back(skip("kubelet API access", "-",
                             "no kube-apiserver with --kubelet-client-certificate from a bundle"));
      return;
    }
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("apiVersion");
    w.String("authorization.k8s.io/v1");
    w.Key("kind");
    w.String("SubjectAccessReview");
    w.Key("spec");
    w.StartObject();
    w.Key("user");
    w.String(user->c_str());
    w.Key("resourceAttributes");
    w.StartObject();
    w.Key("verb");
    w.String("get");
    w.Key("resource");
    w.String("nodes");
    w.Key("subresource");
    w.String("proxy");
    w.EndObject();
    w.EndObject();
    w.EndObject();
    auto r =
        api.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", buf.GetString());
    const std::string target = "user " + *user;
    if (!r.ok() || r->status != 201) {
      checks_.push_back(fail("kubelet API access", target,
                             r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message()));
      return;
    }
    auto d = parseJson(r->body);
    auto status = d ? d->FindMember("status") : rapidjson::Value::MemberIterator();
    const bool allowed = d && status != d->MemberEnd() && status->value.IsObject() &&
                         status->value.HasMember("allowed") && status->value["allowed"].IsBool() &&
                         status->value["allowed"].GetBool();
    const std::string reason =
        d && status != d->MemberEnd() ? jsonString(status->value, "reason") : "";
    checks_.push_back(
        allowed ? pass("kubelet API access", target, "may get nodes/proxy")
                : fail("kubelet API access", target,
                       "may not get nodes/proxy" +
                           (reason.empty() ? "" : ": " + resources::escapeValue(reason))));
  }

  // Seconds since an RFC 3339 time with microseconds ("2026-12-01T17:00:00.123456Z").
  static std::optional<long> secondsSince(const std::string& t) {
    std::tm tm{};
    std::istringstream in(t.substr(0, 19));
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) return std::nullopt;
    const time_t then = timegm(&tm);
    return static_cast<long>(std::time(nullptr) - then);
  }

  const resources::DesiredState& state_;
  std::vector<Check> checks_;
};

}  // namespace

std::vector<Check> apiChecks(const resources::DesiredState& state, const std::string& kubeconfig,
                             const engine::PassContext& context) {
  ApiVerifier v(state);
  v.run(kubeconfig, context);
  return std::move(v).checks();
}

}  // namespace kthw::cli::verify
