#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "runtime/https_client.h"

namespace kthw::runtime {

// The daemon's plain-HTTP endpoint (/healthz, /readyz, /metrics, /status): GET only, one thread,
// one short request per connection at a time. Meant for a loopback address.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const std::string& path)>;

  // Binds "HOST:PORT" (port 0 picks a free one) and serves on a thread of its own.
  static StatusOr<std::unique_ptr<HttpServer>> start(const std::string& listen, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The address actually bound, as HOST:PORT.
  std::string address() const { return address_; }
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string address_;
  std::thread thread_;
};

// GET http://HOST:PORT/path on a plain connection; for `kthw status`.
StatusOr<HttpResponse> httpGet(const std::string& address, const std::string& path,
                               std::chrono::milliseconds timeout);

}  // namespace kthw::runtime
