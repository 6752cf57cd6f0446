#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "runtime/http_response.h"

namespace kthw::runtime {

class HttpsClient;

struct ApiCredentials {
  std::string server;  // https://HOST:PORT
  std::string caPem;
  std::string certPem;
  std::string keyPem;
  std::string source;  // where they came from, for messages
};

// The Kubernetes API as the reconcilers and commands see it: requests by method and path
// (relative to the server), and readiness. HttpsApiClient talks to a real API server; tests use
// an in-memory fake (tests/support/fake_api_client.h).
class ApiClient {
 public:
  ApiClient() = default;
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;
  virtual ~ApiClient() = default;

  // Sends one request: `path` is the absolute path, with any query, already percent-encoded
  // (url_path.h). The result is the response whatever its status; an error when none came.
  virtual StatusOr<HttpResponse> request(const std::string& method, const std::string& path,
                                         const std::string& body,
                                         const std::string& contentType) = 0;
  // ok when /readyz answers 200.
  virtual Status ready() = 0;
  virtual const ApiCredentials& credentials() const = 0;

  // request() with a JSON body, or none.
  StatusOr<HttpResponse> call(const std::string& method, const std::string& path,
                              const std::string& body = "",
                              const std::string& contentType = "application/json") {
    return request(method, path, body, contentType);
  }
};

// A client of the Kubernetes API with mutual TLS: the server's chain verified against the
// cluster CA and its name checked, the client certificate from the admin kubeconfig.
class HttpsApiClient : public ApiClient {
 public:
  explicit HttpsApiClient(ApiCredentials credentials);
  ~HttpsApiClient() override;

  StatusOr<HttpResponse> request(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& contentType) override;
  Status ready() override;
  const ApiCredentials& credentials() const override { return credentials_; }
  // Requests sent that change state (POST, PUT, PATCH, DELETE), for "no API write" checks.
  uint64_t writes() const { return writes_; }

 private:
  ApiCredentials credentials_;
  std::unique_ptr<HttpsClient> client_;
  uint64_t writes_ = 0;
};

}  // namespace kthw::runtime
