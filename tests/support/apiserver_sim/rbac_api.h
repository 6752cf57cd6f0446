#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/https_client.h"
#include "tls_server.h"

namespace kthw::sim {

// Objects kept in etcd through its JSON gateway, so every replica serves one state. The
// resourceVersion of an object is its etcd mod_revision.
class EtcdStore {
 public:
  EtcdStore(runtime::TlsClientConfig tls, std::vector<std::string> endpoints);

  struct Item {
    std::string key;
    std::string value;
    int64_t modRevision = 0;
  };
  StatusOr<std::vector<Item>> range(const std::string& key, bool prefix);
  // Puts `value` if the key's mod_revision is `expected` (0: the key must not exist).
  // Returns the new revision, or Aborted when the comparison failed.
  StatusOr<int64_t> putIf(const std::string& key, const std::string& value, int64_t expected);
  StatusOr<bool> remove(const std::string& key);
  bool reachable(std::string& problem);

 private:
  StatusOr<std::string> call(const std::string& path, const std::string& body);

  runtime::HttpsClient client_;
  std::vector<std::string> endpoints_;
};

// Discovery and rbac.authorization.k8s.io/v1 clusterroles and clusterrolebindings with the
// semantics a real client relies on: Status objects, 401/403/404/409/422, resourceVersion,
// optimistic concurrency, an immutable roleRef, merge and strategic-merge patches.
class RbacApi {
 public:
  explicit RbacApi(EtcdStore& store) : store_(store) {}

  // Handles the request if it is an API path; nullopt otherwise.
  std::optional<Response> handle(const Request& r);

 private:
  Response resource(const Request& r, const std::string& plural, const std::string& name);

  EtcdStore& store_;
};

}  // namespace kthw::sim
