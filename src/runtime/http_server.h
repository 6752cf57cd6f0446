#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "runtime/https_client.h"

namespace kthw::runtime {

// At most this many connections are served at once; more are closed as soon as accepted.
inline constexpr int kMaxConnections = 32;
// From accept to the response written: a client that sends slowly, or nothing, is cut off then.
inline constexpr std::chrono::seconds kRequestDeadline{5};

// The daemon's plain-HTTP endpoint (/healthz, /readyz, /metrics, /status): GET only, one short
// request per connection, up to kMaxConnections connections at once on one thread of
// asynchronous I/O, each under kRequestDeadline — so slow clients cannot starve /healthz.
// Meant for a loopback address.
class HttpServer {
 public:
  struct Impl;  // defined in http_server.cpp

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
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string address_;
  std::thread thread_;
};

// GET http://HOST:PORT/path on a plain connection; for `kthw status`. `timeout` bounds the
// whole call (connect, write, read): DeadlineExceeded, naming the phase, when it passes.
StatusOr<HttpResponse> httpGet(const std::string& address, const std::string& path,
                               std::chrono::milliseconds timeout);

}  // namespace kthw::runtime
