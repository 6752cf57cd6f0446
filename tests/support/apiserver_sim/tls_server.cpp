#include "tls_server.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace kthw::sim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::vector<std::string> nameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<size_t>(ASN1_STRING_length(data)));
  }
  return out;
}

Caller callerOf(SSL* ssl) {
  Caller c;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
    if (cert != nullptr) X509_free(cert);
    return c;
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  auto cn = nameEntries(subject, NID_commonName);
  c.authenticated = !cn.empty();
  if (!cn.empty()) c.user = cn.front();
  c.groups = nameEntries(subject, NID_organizationName);
  X509_free(cert);
  return c;
}

std::atomic<int> gOpenConnections{0};

void serveConnection(tcp::socket socket, ssl::context& ctx, const Handler& handler) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ctx);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
  stream.handshake(ssl::stream_base::server, ec);
  if (ec) return;
  const Caller caller = callerOf(stream.native_handle());
  beast::flat_buffer buffer;
  while (true) {
    http::request<http::string_body> req;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(120));
    http::read(stream, buffer, req, ec);
    if (ec) break;
    Request r{std::string(req.method_string()), std::string(req.target()), req.body(),
              std::string(req[http::field::content_type]), caller};
    Response out = handler(r);
    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::server, "kthw-apiserver-sim");
    res.set(http::field::content_type, out.contentType);
    res.keep_alive(req.keep_alive());
    if (!out.location.empty()) res.set(http::field::location, out.location);
    res.body() = std::move(out.body);
    res.prepare_payload();
    http::write(stream, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  stream.shutdown(ec);
}

}  // namespace

int openConnections() { return gOpenConnections.load(); }

bool awaitNoOpenConnections(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (openConnections() > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void serveTls(const TlsServerConfig& config, const Handler& handler) {
  // Only the shutdown thread below takes SIGTERM; every thread inherits this mask.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_server);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.use_certificate_chain_file(config.certFile);
  ctx.use_private_key_file(config.keyFile, ssl::context::pem);
  if (!config.clientCaFile.empty()) {
    ctx.load_verify_file(config.clientCaFile);
    // Ask for a certificate, verify it when given; anonymous requests are decided per path.
    ctx.set_verify_mode(ssl::verify_peer);
    ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  }
  tcp::acceptor acceptor(
      ioc, {asio::ip::make_address(config.address), static_cast<unsigned short>(config.port)});
  // SIGTERM (systemctl stop/restart): stop accepting at once, let requests in flight finish,
  // then exit, as a real API server shuts down gracefully.
  const int listening = acceptor.native_handle();
  std::thread([listening] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    ::shutdown(listening, SHUT_RDWR);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::_Exit(0);
  }).detach();
  std::cerr << "serving https on " << config.address << ":" << config.port << "\n";
  while (true) {
    tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) {
      std::this_thread::sleep_for(std::chrono::seconds(5));  // shutting down
      continue;
    }
    ++gOpenConnections;
    std::thread([s = std::move(socket), &ctx, &handler]() mutable {
      serveConnection(std::move(s), ctx, handler);
      OPENSSL_thread_stop();  // this thread's OpenSSL state, before it counts as closed
      --gOpenConnections;
    }).detach();
  }
}

}  // namespace kthw::sim
