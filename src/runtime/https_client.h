#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "runtime/http_response.h"

namespace kthw::runtime {

struct TlsClientConfig {
  // The chain is verified against caPem, or — when it is empty and systemRoots is set — the
  // system's trusted roots (downloads). There is no switch to skip verification.
  std::string caPem;
  std::string certPem;  // client certificate, for mutual TLS (optional)
  std::string keyPem;
  bool systemRoots = false;
};

// HTTPS over Boost.Beast and OpenSSL: TLS 1.2 or newer, the server's chain verified against the
// configured CA and its name (DNS or IP SAN) checked against the URL's host, SNI set, one
// deadline for the whole call, and one kept-alive connection per server reused across requests.
// Thread-safe; requests to one server are serialized.
class HttpsClient {
 public:
  explicit HttpsClient(TlsClientConfig config);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // `url` is https://HOST:PORT/PATH. `timeout` bounds the whole call — resolving, connecting,
  // the TLS handshake (these three also by 30 s at most), writing the request and reading the
  // response — whatever the server does; on expiry the result is DeadlineExceeded, naming the
  // server and the phase that did not finish. Unavailable when the server cannot be reached,
  // PermissionDenied when its certificate is not trusted.
  StatusOr<HttpResponse> request(const std::string& method, const std::string& url,
                                 const std::string& body = "",
                                 const std::string& contentType = "application/json",
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                 size_t maxBody = 8u << 20);

  // TCP+TLS connections opened so far (reuse shows as requests > connections).
  uint64_t connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string target;  // path and query
};
StatusOr<ParsedUrl> parseHttpsUrl(const std::string& url);

}  // namespace kthw::runtime
