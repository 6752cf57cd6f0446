#pragma once

#include <string>

namespace kthw::runtime {

// One HTTP response, as the HTTPS client (https_client.h) and the API client interface
// (api_client.h) return it; its own header so that the interface needs no HTTP client.
struct HttpResponse {
  int status = 0;
  std::string body;
  std::string contentType;
  std::string location;  // of a redirect
};

}  // namespace kthw::runtime
