#include "runtime/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kthw::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

StatusOr<std::pair<std::string, std::string>> splitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return invalidArgument("\"" + address + "\" is not HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, address.substr(colon + 1));
}

}  // namespace

struct HttpServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  Handler handler;
  std::atomic<bool> stopping{false};

  void serve(tcp::socket socket) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    http::read(socket, buffer, parser, ec);
    if (ec) return;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::server, "kthw");
    std::string target(req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "only GET\n";
    } else {
      HttpResponse r;
      try {
        r = handler(target);
      } catch (const std::exception& e) {
        r.status = 500;
        r.contentType = "text/plain; charset=utf-8";
        r.body = std::string("internal error: ") + e.what() + "\n";
      }
      res.result(static_cast<unsigned>(r.status));
      res.set(http::field::content_type, r.contentType);
      res.body() = req.method() == http::verb::head ? "" : std::move(r.body);
    }
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                        Handler handler) {
  auto hp = splitHostPort(listen);
  if (!hp.ok()) return Status(hp.status().code(), "--listen: " + hp.status().message());
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  beast::error_code ec;
  const auto addr = asio::ip::make_address(hp->first, ec);
  if (ec) return invalidArgument("--listen: \"" + hp->first + "\" is not an IP address");
  const std::string& portText = hp->second;
  if (portText.find_first_not_of("0123456789") != std::string::npos || portText.size() > 5 ||
      std::stoul(portText) > 65535) {
    return invalidArgument("--listen: \"" + portText + "\" is not a port");
  }
  const tcp::endpoint endpoint(addr, static_cast<uint16_t>(std::stoul(portText)));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("cannot listen on " + listen + ": " + ec.message());
  const tcp::endpoint bound = impl->acceptor.local_endpoint(ec);
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                   : bound.address().to_string();
  server->address_ = host + ":" + std::to_string(bound.port());
  Impl* self = server->impl_.get();
  server->thread_ = std::thread([self] {
    while (!self->stopping) {
      beast::error_code aec;
      tcp::socket socket(self->io);
      self->acceptor.accept(socket, aec);
      if (self->stopping) return;
      if (aec) continue;
      // A client that connects and says nothing must not stall the endpoint for long.
      struct timeval tv {
        5, 0
      };
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      self->serve(std::move(socket));
    }
  });
  return server;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  impl_->stopping = true;
  beast::error_code ec;
  // Wake the blocking accept with a connection of our own, then close.
  {
    tcp::socket poke(impl_->io);
    poke.connect(impl_->acceptor.local_endpoint(ec), ec);
  }
  thread_.join();
  impl_->acceptor.close(ec);
}

HttpServer::~HttpServer() { stop(); }

StatusOr<HttpResponse> httpGet(const std::string& address, const std::string& path,
                               std::chrono::milliseconds timeout) {
  auto hp = splitHostPort(address);
  if (!hp.ok()) return hp.status();
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(hp->first, hp->second, ec);
  if (ec) return unavailable("cannot resolve " + address + ": " + ec.message());
  stream.expires_after(timeout);
  stream.connect(results, ec);
  if (ec) return unavailable("cannot connect to " + address + ": " + ec.message());
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, hp->first);
  req.set(http::field::user_agent, "kthw");
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (!ec) http::read(stream, buffer, parser, ec);
  if (ec) return unavailable("GET http://" + address + path + ": " + ec.message());
  HttpResponse r;
  r.status = static_cast<int>(parser.get().result_int());
  r.contentType = std::string(parser.get()[http::field::content_type]);
  r.body = std::move(parser.get().body());
  return r;
}

}  // namespace kthw::runtime
