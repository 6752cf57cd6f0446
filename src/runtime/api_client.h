#pragma once

#include <memory>
#include <string>

#include "runtime/https_client.h"

namespace kthw::runtime {

struct ApiCredentials {
  std::string server;  // https://HOST:PORT
  std::string caPem;
  std::string certPem;
  std::string keyPem;
  std::string source;  // where they came from, for messages
};

// A client of the Kubernetes API with mutual TLS: the server's chain verified against the
// cluster CA and its name checked, the client certificate from the admin kubeconfig.
class ApiClient {
 public:
  explicit ApiClient(ApiCredentials credentials);

  StatusOr<HttpResponse> call(const std::string& method, const std::string& path,
                              const std::string& body = "",
                              const std::string& contentType = "application/json");
  // ok when /readyz answers 200.
  Status ready();
  const ApiCredentials& credentials() const { return credentials_; }
  // Requests sent that change state (POST, PUT, PATCH, DELETE), for "no API write" checks.
  uint64_t writes() const { return writes_; }

 private:
  ApiCredentials credentials_;
  HttpsClient client_;
  uint64_t writes_ = 0;
};

}  // namespace kthw::runtime
