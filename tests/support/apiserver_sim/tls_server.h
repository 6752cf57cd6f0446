#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace kthw::sim {

// Who called: from the verified client certificate (CN is the user, O the groups).
struct Caller {
  bool authenticated = false;
  std::string user;
  std::vector<std::string> groups;
};

struct Request {
  std::string method;
  std::string target;  // path and query
  std::string body;
  std::string contentType;
  Caller caller;
};

struct Response {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::string location;  // for redirects
};

using Handler = std::function<Response(const Request&)>;

struct TlsServerConfig {
  std::string address = "0.0.0.0";
  int port = 6443;
  std::string certFile;
  std::string keyFile;
  std::string clientCaFile;  // empty: no client certificates asked for
};

// Connections being served at this moment. A test process waits for none before it exits:
// LeakSanitizer reports what a connection thread still holds at exit as leaked.
int openConnections();

// Waits up to `limit` for openConnections() to reach zero; whether it did.
bool awaitNoOpenConnections(std::chrono::milliseconds limit = std::chrono::seconds(10));

// A small HTTPS server: one thread per connection, keep-alive, client certificates verified
// against the client CA when one is given (but not required, as anonymous requests to
// /healthz and /version are allowed by a real API server). Runs until the process ends.
[[noreturn]] void serveTls(const TlsServerConfig& config, const Handler& handler);

}  // namespace kthw::sim
