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

#include "runtime/deadline.h"

namespace kthw::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

// Establishing a connection never waits longer than this, even under a long total deadline (a
// download may take minutes; a server that does not answer the handshake gets no minutes).
constexpr std::chrono::seconds kMaxEstablish{30};

struct Connection {
  // One io_context per connection: a request runs it on its own thread, so no other request can
  // run (or starve) its handlers.
  asio::io_context ioc;
  std::unique_ptr<Stream> stream;
  std::mutex mu;
};

// What an asynchronous operation reports; shared with its handler so that a handler that runs
// after the caller gave up (a resolver cannot be interrupted) touches nothing freed.
struct Outcome {
  bool done = false;
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
};

// One request against one connection, under one total deadline.
class Call {
 public:
  Call(Connection& conn, ssl::context& ctx, const ParsedUrl& url, std::chrono::milliseconds timeout)
      : conn_(conn),
        ctx_(ctx),
        url_(url),
        origin_("https://" + url.host + ":" + url.port),
        timeout_(timeout),
        deadline_(Clock::now() + timeout) {}

  // Resolves, connects and completes the TLS handshake; the stream goes to the connection.
  Status open() {
    const auto establishBy = std::min(deadline_, Clock::now() + kMaxEstablish);
    const std::string within =
        " within " + formatTimeout(std::min<std::chrono::milliseconds>(timeout_, kMaxEstablish));
    auto endpoints = resolve(establishBy, within);
    if (!endpoints.ok()) return endpoints.status();
    auto stream = std::make_unique<Stream>(conn_.ioc, ctx_);
    // SNI, and the name (or IP) the certificate must carry.
    if (SSL_ctrl(stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(url_.host.c_str())) != 1) {
      return internalError("cannot set SNI");
    }
    stream->set_verify_callback(ssl::host_name_verification(url_.host));
    auto& tcpStream = beast::get_lowest_layer(*stream);
    tcpStream.expires_at(establishBy);
    auto outcome = std::make_shared<Outcome>();
    tcpStream.async_connect(*endpoints, [outcome](beast::error_code ec, const auto&) {
      outcome->ec = ec;
      outcome->done = true;
    });
    wait(*outcome, tcpStream, establishBy);
    if (outcome->ec == beast::error::timeout) {
      return deadlineExceeded(origin_ + ": no TCP connection" + within);
    }
    if (outcome->ec) return unavailable("cannot connect to " + origin_ + ": " + message(*outcome));
    outcome = std::make_shared<Outcome>();
    stream->async_handshake(ssl::stream_base::client, [outcome](beast::error_code ec) {
      outcome->ec = ec;
      outcome->done = true;
    });
    wait(*outcome, tcpStream, establishBy);
    if (outcome->ec == beast::error::timeout) {
      return deadlineExceeded(origin_ + ": no TLS handshake" + within);
    }
    if (outcome->ec) {
      return permissionDenied("TLS handshake with " + url_.host + ":" + url_.port +
                              " failed: " + message(*outcome) +
                              " (is the server's certificate signed by the cluster CA and "
                              "valid for " +
                              url_.host + "?)");
    }
    conn_.stream = std::move(stream);
    return okStatus();
  }

  // Writes the request and reads the response on the open stream, by the same deadline.
  StatusOr<http::response<http::string_body>> exchange(http::request<http::string_body>& req,
                                                       size_t maxBody, beast::error_code& ec) {
    auto& tcpStream = beast::get_lowest_layer(*conn_.stream);
    tcpStream.expires_at(deadline_);
    auto outcome = std::make_shared<Outcome>();
    http::async_write(*conn_.stream, req, [outcome](beast::error_code e, size_t) {
      outcome->ec = e;
      outcome->done = true;
    });
    wait(*outcome, tcpStream, deadline_);
    const std::string what =
        std::string(req.method_string()) + " " + origin_ + std::string(req.target());
    const std::string within = " within " + formatTimeout(timeout_);
    ec = outcome->ec;
    if (ec == beast::error::timeout) return deadlineExceeded(what + ": request not sent" + within);
    if (ec) return unavailable(what + " failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(maxBody);
    outcome = std::make_shared<Outcome>();
    http::async_read(*conn_.stream, buffer, parser, [outcome](beast::error_code e, size_t) {
      outcome->ec = e;
      outcome->done = true;
    });
    wait(*outcome, tcpStream, deadline_);
    ec = outcome->ec;
    if (ec == http::error::body_limit) {
      return resourceExhausted(what + ": response larger than " + std::to_string(maxBody) +
                               " bytes");
    }
    if (ec == beast::error::timeout) return deadlineExceeded(what + ": no response" + within);
    if (ec) return unavailable(what + " failed: " + ec.message());
    return parser.release();
  }

 private:
  StatusOr<tcp::resolver::results_type> resolve(Clock::time_point by, const std::string& within) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(url_.host, ec);
    if (!ec) {
      const auto port = static_cast<uint16_t>(std::strtoul(url_.port.c_str(), nullptr, 10));
      return tcp::resolver::results_type::create(tcp::endpoint(address, port), url_.host,
                                                 url_.port);
    }
    // getaddrinfo cannot be interrupted; a late answer lands in `outcome`, which outlives us.
    auto outcome = std::make_shared<Outcome>();
    tcp::resolver resolver(conn_.ioc);
    resolver.async_resolve(url_.host, url_.port,
                           [outcome](beast::error_code e, tcp::resolver::results_type r) {
                             outcome->ec = e;
                             outcome->endpoints = std::move(r);
                             outcome->done = true;
                           });
    conn_.ioc.restart();
    while (!outcome->done && conn_.ioc.run_one_until(by) != 0) {
    }
    if (!outcome->done) return deadlineExceeded(origin_ + ": no DNS answer" + within);
    if (outcome->ec) return unavailable("cannot resolve " + url_.host + ": " + message(*outcome));
    return outcome->endpoints;
  }

  // tcp_stream ends the operation at its expiry; the hard stop only guards against a bug.
  void wait(Outcome& outcome, beast::tcp_stream& tcpStream, Clock::time_point by) {
    const bool inTime =
        runUntilDone(conn_.ioc, outcome.done, by + std::chrono::seconds(1), [&tcpStream] {
          beast::error_code ignored;
          tcpStream.socket().close(ignored);
        });
    if (!inTime) outcome.ec = beast::error::timeout;
  }

  static std::string message(const Outcome& outcome) { return outcome.ec.message(); }

  Connection& conn_;
  ssl::context& ctx_;
  const ParsedUrl& url_;
  std::string origin_;
  std::chrono::milliseconds timeout_;
  Clock::time_point deadline_;
};

}  // namespace

struct HttpsClient::Impl {
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
  // connection is safe because nothing reached the server. Both attempts share one deadline.
  Call call(*conn, impl_->ctx, *parsed, timeout);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = !conn->stream;
    if (fresh) {
      if (Status s = call.open(); !s.ok()) return s;
      ++impl_->opened;
    }
    beast::error_code ec;
    auto res = call.exchange(req, maxBody, ec);
    if (!res.ok()) {
      conn->stream.reset();
      const bool timedOut = res.status().code() == StatusCode::kDeadlineExceeded;
      if (!fresh && !timedOut && ec != http::error::body_limit) continue;
      return res.status();
    }
    if (!res->keep_alive()) conn->stream.reset();
    return HttpResponse{static_cast<int>(res->result_int()), std::move(res->body()),
                        std::string((*res)[http::field::content_type]),
                        std::string((*res)[http::field::location])};
  }
  return unavailable(method + " " + url + " failed twice");
}

}  // namespace kthw::runtime
