#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/api_client.h"

namespace kthw::testing {

// An in-memory Kubernetes API that answers from its own objects and records every request, as
// sample-controller's fake clientset records actions. Objects are kept by their path,
// percent-decoded ("/apis/rbac.authorization.k8s.io/v1/clusterroles/system:x"), and so are the
// recorded paths. It does what the RBAC reconciler relies on: GET of an object (404 when
// absent), LIST of a collection with an optional "labelSelector=KEY=VALUE", POST to a
// collection (409 AlreadyExists), PUT with optimistic concurrency (409 Conflict on a stale
// metadata.resourceVersion; 422 on a ClusterRoleBinding's roleRef, which is immutable) and
// DELETE; every write gives the object a new resourceVersion.
// "%3A" -> ":": a request path as the API server reads it.
inline std::string percentDecoded(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

class FakeApiClient : public runtime::ApiClient {
 public:
  struct Request {
    std::string method;
    std::string path;  // decoded, with its query
    std::string body;
  };
  // An answer given instead of the fake's own, to the next `times` requests that match.
  struct Reaction {
    std::string method;
    std::string path;  // decoded, without the query
    int status = 500;
    std::string body = R"({"message":"injected failure"})";
    std::optional<Status> error;  // no response at all
    int times = 1;
  };

  std::map<std::string, std::string> objects;  // by decoded path
  std::vector<Request> requests;
  std::vector<Reaction> reactions;
  // Called before each request is answered, after it is recorded: to change `objects` as
  // another writer would.
  std::function<void(const Request&)> beforeAnswer;
  Status readiness = okStatus();
  runtime::ApiCredentials creds{"https://fake-apiserver:6443", "", "", "", "fake"};

  // The next `times` requests `method path` answer `status` (a Kubernetes Status body).
  void fail(const std::string& method, const std::string& path, int code, int times = 1) {
    Reaction r;
    r.method = method;
    r.path = path;
    r.status = code;
    r.body = R"({"kind":"Status","code":)" + std::to_string(code) + R"(,"message":"injected"})";
    r.times = times;
    reactions.push_back(r);
  }

  // Stores `json` at `path`, with a resourceVersion unless it has one.
  void seed(const std::string& path, const std::string& json) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    if (d.IsObject() && d.HasMember("metadata") && !d["metadata"].HasMember("resourceVersion")) {
      setResourceVersion(d);
    }
    objects[path] = d.IsObject() ? serialize(d) : json;
  }

  // "METHOD path" of every request, in order.
  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const Request& r : requests) out.push_back(r.method + " " + r.path);
    return out;
  }
  // Those that change state (anything but GET).
  std::vector<std::string> mutations() const {
    std::vector<std::string> out;
    for (const Request& r : requests) {
      if (r.method != "GET") out.push_back(r.method + " " + r.path);
    }
    return out;
  }

  StatusOr<runtime::HttpResponse> request(const std::string& method, const std::string& path,
                                          const std::string& body,
                                          const std::string& /*contentType*/) override {
    const std::string decoded = percentDecoded(path);
    requests.push_back({method, decoded, body});
    if (beforeAnswer) beforeAnswer(requests.back());
    const std::string bare = decoded.substr(0, decoded.find('?'));
    for (Reaction& r : reactions) {
      if (r.times <= 0 || r.method != method || r.path != bare) continue;
      --r.times;
      if (r.error) return *r.error;
      return runtime::HttpResponse{r.status, r.body, "application/json", ""};
    }
    if (method == "GET") {
      const size_t q = decoded.find('?');
      if (q != std::string::npos) return list(bare, decoded.substr(q + 1));
      if (objects.count(bare) == 0 && isCollection(bare)) return list(bare, "");
      auto it = objects.find(bare);
      if (it == objects.end()) return status(404, "NotFound", bare + " not found");
      return runtime::HttpResponse{200, it->second, "application/json", ""};
    }
    if (method == "DELETE") {
      if (objects.erase(bare) == 0) return status(404, "NotFound", bare + " not found");
      return status(200, "Success", "deleted");
    }
    rapidjson::Document d;
    d.Parse(body.c_str());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("metadata") ||
        !d["metadata"].IsObject() || !d["metadata"].HasMember("name") ||
        !d["metadata"]["name"].IsString()) {
      return status(400, "BadRequest", "not an object with metadata.name");
    }
    if (method == "POST") {
      const std::string target = bare + "/" + d["metadata"]["name"].GetString();
      if (objects.count(target) != 0) return status(409, "AlreadyExists", target + " exists");
      d["metadata"].RemoveMember("resourceVersion");
      setResourceVersion(d);
      objects[target] = serialize(d);
      return runtime::HttpResponse{201, objects[target], "application/json", ""};
    }
    if (method == "PUT") {
      auto it = objects.find(bare);
      if (it == objects.end()) return status(404, "NotFound", bare + " not found");
      rapidjson::Document have;
      have.Parse(it->second.c_str());
      const std::string sent = stringAt(d["metadata"], "resourceVersion");
      if (!sent.empty() && sent != stringAt(have["metadata"], "resourceVersion")) {
        return status(409, "Conflict", "the object has been modified");
      }
      if (bare.find("/clusterrolebindings/") != std::string::npos && have.HasMember("roleRef") &&
          (!d.HasMember("roleRef") || serialize(have["roleRef"]) != serialize(d["roleRef"]))) {
        return status(422, "Invalid", "cannot change roleRef");
      }
      d["metadata"].RemoveMember("resourceVersion");
      setResourceVersion(d);
      it->second = serialize(d);
      return runtime::HttpResponse{200, it->second, "application/json", ""};
    }
    return status(405, "MethodNotAllowed", method);
  }

  Status ready() override { return readiness; }
  const runtime::ApiCredentials& credentials() const override { return creds; }

 private:
  static std::string serialize(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return buf.GetString();
  }

  static std::string stringAt(const rapidjson::Value& v, const char* name) {
    if (!v.IsObject()) return "";
    auto it = v.FindMember(name);
    return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
  }

  static runtime::HttpResponse status(int code, const std::string& reason,
                                      const std::string& message) {
    return {code,
            R"({"kind":"Status","code":)" + std::to_string(code) + R"(,"reason":")" + reason +
                R"(","message":")" + message + R"("})",
            "application/json", ""};
  }

  bool isCollection(const std::string& path) const {
    for (const auto& [p, json] : objects) {
      if (p.starts_with(path + "/")) return true;
    }
    return false;
  }

  // The objects directly under `collection` that carry the selector's label.
  runtime::HttpResponse list(const std::string& collection, const std::string& query) const {
    std::string key;
    std::string value;
    bool selected = false;
    if (query.starts_with("labelSelector=")) {
      const std::string selector = query.substr(std::string("labelSelector=").size());
      const size_t eq = selector.find('=');
      key = selector.substr(0, eq);
      value = eq == std::string::npos ? "" : selector.substr(eq + 1);
      selected = true;
    }
    std::string items;
    for (const auto& [p, json] : objects) {
      if (!p.starts_with(collection + "/") ||
          p.find('/', collection.size() + 1) != std::string::npos) {
        continue;
      }
      if (selected) {
        rapidjson::Document d;
        d.Parse(json.c_str());
        const bool hasLabels = d.IsObject() && d.HasMember("metadata") &&
                               d["metadata"].IsObject() && d["metadata"].HasMember("labels");
        if (!hasLabels || stringAt(d["metadata"]["labels"], key.c_str()) != value) continue;
      }
      items += (items.empty() ? "" : ",") + json;
    }
    return {200, R"({"items":[)" + items + "]}", "application/json", ""};
  }

  void setResourceVersion(rapidjson::Document& d) {
    auto& a = d.GetAllocator();
    d["metadata"].RemoveMember("resourceVersion");
    d["metadata"].AddMember("resourceVersion",
                            rapidjson::Value(std::to_string(++resourceVersion_).c_str(), a), a);
  }

  uint64_t resourceVersion_ = 100;
};

}  // namespace kthw::testing
