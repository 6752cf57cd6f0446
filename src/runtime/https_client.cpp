#include "runtime/https_client.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace kthw::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;

struct Connection {
  std::unique_ptr<Stream> stream;
  std::mutex mu;
};

}  // namespace

struct HttpsClient::Impl {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Connection>> connections;  // by host:port
  std::atomic<uint64_t> opened{0};
  Status setup;
};

StatusOr<ParsedUrl> parseHttpsUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return invalidArgument("not an https:// URL: " + url);
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  ParsedUrl out;
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    out.host = authority.substr(1, close - 1);
    out.port = close + 1 < authority.size() ? authority.substr(close + 2) : "443";
  } else {
    const size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    out.port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty()) return invalidArgument("bad URL " + url);
  // The target goes into the request line as it is: only visible ASCII, no fragment.
  for (char c : out.target) {
    if (c <= ' ' || c == '\x7f' || c == '#') {
      return invalidArgument("the URL's path holds a character a request line cannot carry");
    }
  }
  return out;
}

HttpsClient::HttpsClient(TlsClientConfig config) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(impl_->ctx.native_handle(), TLS1_2_VERSION);
  impl_->ctx.set_verify_mode(ssl::verify_peer);
  if (config.caPem.empty() && config.systemRoots) {
    impl_->ctx.set_default_verify_paths(ec);
  } else {
    impl_->ctx.add_certificate_authority(asio::buffer(config.caPem), ec);
  }
  if (ec) impl_->setup = invalidArgument("the CA certificate is unusable: " + ec.message());
  if (!config.certPem.empty()) {
    impl_->ctx.use_certificate_chain(asio::buffer(config.certPem), ec);
    if (!ec) impl_->ctx.use_private_key(asio::buffer(config.keyPem), ssl::context::pem, ec);
    if (ec) impl_->setup = invalidArgument("the client certificate is unusable: " + ec.message());
  }
}

HttpsClient::~HttpsClient() = default;

uint64_t HttpsClient::connections() const { return impl_->opened; }

StatusOr<HttpResponse> HttpsClient::request(const std::string& method, const std::string& url,
                                            const std::string& body, const std::string& contentType,
                                            std::chrono::milliseconds timeout, size_t maxBody) {
  if (!impl_->setup.ok()) return impl_->setup;
  auto parsed = parseHttpsUrl(url);
  if (!parsed.ok()) return parsed.status();
  const std::string key = parsed->host + ":" + parsed->port;
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& slot = impl_->connections[key];
    if (!slot) slot = std::make_shared<Connection>();
    conn = slot;
  }
  std::lock_guard<std::mutex> lock(conn->mu);
  http::request<http::string_body> req{http::string_to_verb(method), parsed->target, 11};
  req.set(http::field::host, parsed->host);
  req.set(http::field::user_agent, "kthw");
  req.set(http::field::accept, "application/json");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.set(http::field::content_type, contentType);
    req.body() = body;
    req.prepare_payload();
  }
  // A kept-alive connection the server has closed fails on first use; one retry on a new
  // connection is safe because nothing reached the server.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !conn->stream;
    beast::error_code ec;
    if (fresh) {
      tcp::resolver resolver(impl_->ioc);
      auto endpoints = resolver.resolve(parsed->host, parsed->port, ec);
      if (ec) return unavailable("cannot resolve " + parsed->host + ": " + ec.message());
      auto stream = std::make_unique<Stream>(impl_->ioc, impl_->ctx);
      // SNI, and the name (or IP) the certificate must carry.
      if (SSL_ctrl(stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(parsed->host.c_str())) != 1) {
        return internalError("cannot set SNI");
      }
      stream->set_verify_callback(ssl::host_name_verification(parsed->host));
      beast::get_lowest_layer(*stream).expires_after(timeout);
      beast::get_lowest_layer(*stream).connect(endpoints, ec);
      if (ec) {
        return ec == beast::error::timeout
                   ? deadlineExceeded("connecting to " + key + " timed out")
                   : unavailable("cannot connect to " + key + ": " + ec.message());
      }
      stream->handshake(ssl::stream_base::client, ec);
      if (ec) {
        return permissionDenied("TLS handshake with " + key + " failed: " + ec.message() +
                                " (is the server's certificate signed by the cluster CA and "
                                "valid for " +
                                parsed->host + "?)");
      }
      conn->stream = std::move(stream);
      ++impl_->opened;
    }
    beast::get_lowest_layer(*conn->stream).expires_after(timeout);
    http::write(*conn->stream, req, ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(maxBody);
    if (!ec) http::read(*conn->stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      conn->stream.reset();
      return resourceExhausted(method + " " + url + ": response larger than " +
                               std::to_string(maxBody) + " bytes");
    }
    http::response<http::string_body> res = parser.release();
    if (ec) {
      conn->stream.reset();
      if (!fresh && ec != beast::error::timeout) continue;
      return ec == beast::error::timeout
                 ? deadlineExceeded(method + " " + url + " timed out")
                 : unavailable(method + " " + url + " failed: " + ec.message());
    }
    if (!res.keep_alive()) conn->stream.reset();
    return HttpResponse{static_cast<int>(res.result_int()), std::move(res.body()),
                        std::string(res[http::field::content_type]),
                        std::string(res[http::field::location])};
  }
  return unavailable(method + " " + url + " failed twice");
}

}  // namespace kthw::runtime
