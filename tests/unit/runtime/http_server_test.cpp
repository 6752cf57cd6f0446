// The daemon's endpoint under clients that misbehave: slow and silent clients must not keep
// /healthz from answering, each connection is cut at its deadline, the number served at once is
// bounded, and `kthw status`'s GET gives up at its own deadline.
#include "runtime/http_server.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../../support/loopback.h"

namespace kthw::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using kthw::testing::connectLoopback;

std::unique_ptr<HttpServer> startServer() {
  auto server = HttpServer::start("127.0.0.1:0", [](const std::string& path) {
    HttpResponse r;
    r.status = path == "/healthz" ? 200 : 404;
    r.contentType = "text/plain";
    r.body = path == "/healthz" ? "ok\n" : "no\n";
    return r;
  });
  EXPECT_TRUE(server.ok()) << server.status().message();
  return std::move(*server);
}

int portOf(const HttpServer& server) {
  const std::string a = server.address();
  return std::stoi(a.substr(a.rfind(':') + 1));
}

// A GET through a plain socket, as curl would send it; the status line, or "" on timeout.
std::string rawGet(int port, std::chrono::seconds limit) {
  const int fd = connectLoopback(port);
  if (fd < 0) return "";
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return "";
  const std::string res = kthw::testing::drain(fd, limit);
  ::close(fd);
  return res.substr(0, res.find("\r\n"));
}

// Clients that hold connections open: each sends one byte of a request a second (or nothing)
// until told to stop or cut off by the server.
class SlowClients {
 public:
  SlowClients(int port, int trickling, int silent) {
    for (int i = 0; i < trickling + silent; ++i) {
      const bool trickle = i < trickling;
      threads_.emplace_back([this, port, trickle] {
        const int fd = connectLoopback(port);
        const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        for (size_t sent = 0; fd >= 0 && !stop_ && sent < req.size();) {
          if (trickle && ::send(fd, &req[sent++], 1, MSG_NOSIGNAL) != 1) break;
          for (int tick = 0; tick < 10 && !stop_; ++tick) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }
        if (fd >= 0) ::close(fd);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all connected
  }
  ~SlowClients() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
  }
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(HttpServer, ServesGetAndRefusesOtherMethods) {
  auto server = startServer();
  ASSERT_NE(server, nullptr);
  const std::string address = server->address();
  EXPECT_TRUE(address.starts_with("127.0.0.1:")) << address;
  auto ok = httpGet(address, "/healthz?verbose=1", std::chrono::seconds(5));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "ok\n");
  auto missing = httpGet(address, "/nope", std::chrono::seconds(5));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  server->stop();
  EXPECT_FALSE(httpGet(address, "/healthz", std::chrono::seconds(2)).ok());
}

TEST(HttpServer, RejectsABadListenAddress) {
  auto handler = [](const std::string&) { return HttpResponse{}; };
  EXPECT_EQ(HttpServer::start("localhost", handler).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::start("not-an-ip:80", handler).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::start("127.0.0.1:99999", handler).status().code(),
            StatusCode::kInvalidArgument);
  auto first = HttpServer::start("127.0.0.1:0", handler);
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::start((*first)->address(), handler);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << "a port in use is an error";
}

TEST(HttpServerConcurrency, SlowClientsDoNotStarveHealthz) {
  auto server = startServer();
  SlowClients slow(portOf(*server), 3, 3);
  for (int i = 0; i < 4; ++i) {
    const auto start = Clock::now();
    EXPECT_EQ(rawGet(portOf(*server), std::chrono::seconds(3)), "HTTP/1.1 200 OK");
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

TEST(HttpServerConcurrency, CutsOffATricklingClientAtTheDeadline) {
  auto server = startServer();
  const int fd = connectLoopback(portOf(*server));
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  // A request that stays well-formed and never ends: one more byte of a header value each time.
  const std::string req = "GET /healthz HTTP/1.1\r\nX-Slow: ";
  bool closed = false;
  for (size_t i = 0; !closed && Clock::now() - start < std::chrono::seconds(15); ++i) {
    const char c = i < req.size() ? req[i] : 'a';
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) closed = true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) == 1) closed = true;  // EOF (or a reset) from the server
  }
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_GE(Clock::now() - start, kRequestDeadline - std::chrono::milliseconds(200));
  EXPECT_LT(Clock::now() - start, kRequestDeadline + std::chrono::seconds(3));
}

TEST(HttpServerConcurrency, ClosesConnectionsBeyondTheBoundAndRecovers) {
  auto server = startServer();
  const int port = portOf(*server);
  std::vector<int> held;
  for (int i = 0; i < kMaxConnections; ++i) held.push_back(connectLoopback(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = Clock::now();
  EXPECT_EQ(rawGet(port, std::chrono::seconds(3)), "") << "one too many is closed at once";
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(rawGet(port, std::chrono::seconds(3)), "HTTP/1.1 200 OK");
}

TEST(HttpGet, GivesUpAtItsDeadline) {
  kthw::testing::LoopbackListener silent;
  const auto start = Clock::now();
  auto r = httpGet(silent.address(), "/status", std::chrono::seconds(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "http://" + silent.address() + "/status: no response within 2s");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(6));
}

}  // namespace
}  // namespace kthw::runtime
