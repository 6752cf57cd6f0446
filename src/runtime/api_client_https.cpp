#include "runtime/api_client.h"
#include "runtime/https_client.h"

namespace kthw::runtime {

HttpsApiClient::HttpsApiClient(ApiCredentials credentials)
    : credentials_(std::move(credentials)),
      client_(std::make_unique<HttpsClient>(
          TlsClientConfig{credentials_.caPem, credentials_.certPem, credentials_.keyPem})) {}

HttpsApiClient::~HttpsApiClient() = default;

StatusOr<HttpResponse> HttpsApiClient::request(const std::string& method, const std::string& path,
                                               const std::string& body,
                                               const std::string& contentType) {
  if (method != "GET") ++writes_;
  return client_->request(method, credentials_.server + path, body, contentType,
                          std::chrono::seconds(10));
}

Status HttpsApiClient::ready() {
  auto r =
      client_->request("GET", credentials_.server + "/readyz", "", "", std::chrono::seconds(5));
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return unavailable("/readyz answered " + std::to_string(r->status) + ": " +
                       r->body.substr(0, 200));
  }
  return okStatus();
}

}  // namespace kthw::runtime
