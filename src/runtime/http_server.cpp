#include "runtime/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "runtime/deadline.h"

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

// Handlers and counters come before the io_context, so that sessions still queued in it when it
// is destroyed can find them.
struct HttpServer::Impl {
  Handler handler;
  std::atomic<int> active{0};
  std::atomic<bool> stopping{false};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer retry{io};

  http::response<http::string_body> respond(const http::request<http::empty_body>& req) const;
  void accept();
};

namespace {

// One connection: read one request, answer it, close; all of it by one deadline, so a client
// that trickles bytes cannot hold a slot for longer than kRequestDeadline.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() { --server_.active; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    stream_.expires_after(kRequestDeadline);  // once: not renewed by each byte
    parser_.header_limit(16 * 1024);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    response_ = server_.respond(parser_.get());
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

http::response<http::string_body> HttpServer::Impl::respond(
    const http::request<http::empty_body>& req) const {
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
  return res;
}

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, say: try again shortly rather than spin.
      retry.expires_after(std::chrono::milliseconds(100));
      retry.async_wait([this](beast::error_code) { accept(); });
      return;
    }
    if (active >= kMaxConnections) {
      // Beyond the bound a connection is closed at once: the slots free up within
      // kRequestDeadline, and a refused client can retry.
      spdlog::debug("http: {} connections open; refusing one", active.load());
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      ++active;
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

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
  self->accept();
  server->thread_ = std::thread([self] { self->io.run(); });
  return server;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  impl_->stopping = true;
  impl_->io.stop();
  thread_.join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

HttpServer::~HttpServer() { stop(); }

StatusOr<HttpResponse> httpGet(const std::string& address, const std::string& path,
                               std::chrono::milliseconds timeout) {
  auto hp = splitHostPort(address);
  if (!hp.ok()) return hp.status();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string url = "http://" + address + path;
  const std::string within = " within " + formatTimeout(timeout);
  beast::error_code ec;
  asio::io_context io;
  tcp::resolver::results_type endpoints;
  if (const auto ip = asio::ip::make_address(hp->first, ec); !ec) {
    const auto port = static_cast<uint16_t>(std::strtoul(hp->second.c_str(), nullptr, 10));
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(ip, port), hp->first, hp->second);
  } else {
    // A name (localhost): from /etc/hosts, normally; the daemon listens on an address.
    tcp::resolver resolver(io);
    endpoints = resolver.resolve(hp->first, hp->second, ec);
    if (ec) return unavailable("cannot resolve " + address + ": " + ec.message());
  }
  beast::tcp_stream stream(io);
  stream.expires_at(deadline);
  bool done = false;
  auto finish = [&](beast::error_code e, auto&&...) {
    ec = e;
    done = true;
  };
  auto wait = [&] {
    done = false;
    const bool inTime = runUntilDone(io, done, deadline + std::chrono::seconds(1), [&] {
      beast::error_code ignored;
      stream.socket().close(ignored);
    });
    if (!inTime) ec = beast::error::timeout;
  };
  stream.async_connect(endpoints, finish);
  wait();
  if (ec == beast::error::timeout) return deadlineExceeded(url + ": no connection" + within);
  if (ec) return unavailable("cannot connect to " + address + ": " + ec.message());
  http::request<http::empty_body> req(http::verb::get, path, 11);
  req.set(http::field::host, hp->first);
  req.set(http::field::user_agent, "kthw");
  http::async_write(stream, req, finish);
  wait();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024 * 1024);
  if (!ec) {
    http::async_read(stream, buffer, parser, finish);
    wait();
  }
  if (ec == beast::error::timeout) return deadlineExceeded(url + ": no response" + within);
  if (ec) return unavailable("GET " + url + ": " + ec.message());
  HttpResponse r;
  r.status = static_cast<int>(parser.get().result_int());
  r.contentType = std::string(parser.get()[http::field::content_type]);
  r.body = std::move(parser.get().body());
  return r;
}

}  // namespace kthw::runtime
