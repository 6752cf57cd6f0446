// HttpsClient's deadline against peers that stall at each phase: a listener nobody serves, a
// server that reads the ClientHello and says nothing, one that completes the handshake and
// never answers. Each call must come back DeadlineExceeded, naming the server and the phase,
// soon after its deadline.
#include "runtime/https_client.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "../../support/loopback.h"
#include "runtime/api_client.h"
#include "runtime/pki.h"

namespace kthw::runtime {
namespace {

using kthw::testing::LoopbackListener;
using Clock = std::chrono::steady_clock;

// kthw's main() ignores SIGPIPE, and so must this test binary: when a peer has closed first, the
// other side's last write (a TLS close_notify after a deadline) would end the whole run.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

constexpr std::chrono::seconds kDeadline{2};
// Generous: the machine is shared with builds. A call that ignores its deadline hangs forever.
constexpr std::chrono::seconds kMaxElapsed{6};

struct Pki {
  std::string caPem;
  std::string certPem;
  std::string keyPem;
};

const Pki& pki() {
  static const Pki kPki = [] {
    const auto now = std::chrono::system_clock::now();
    auto caKey = generatePrivateKey(KeyType::kEcdsaP256);
    CertificateRequest ca;
    ca.commonName = "test-ca";
    ca.isCa = true;
    ca.validity = std::chrono::hours(24);
    auto caPem = issueCertificate(ca, *caKey, "", *caKey, now);
    auto key = generatePrivateKey(KeyType::kEcdsaP256);
    CertificateRequest server;
    server.commonName = "127.0.0.1";
    server.ipAddresses = {"127.0.0.1"};
    server.serverAuth = true;
    server.validity = std::chrono::hours(24);
    auto pem = issueCertificate(server, *key, *caPem, *caKey, now);
    return Pki{*caPem, *pem, key->pem};
  }();
  return kPki;
}

// A TLS server context for the test peer, from the PEM strings above.
SSL_CTX* serverContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  BIO* certBio = BIO_new_mem_buf(pki().certPem.data(), static_cast<int>(pki().certPem.size()));
  BIO* keyBio = BIO_new_mem_buf(pki().keyPem.data(), static_cast<int>(pki().keyPem.size()));
  X509* cert = PEM_read_bio_X509(certBio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(keyBio, nullptr, nullptr, nullptr);
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(certBio);
  BIO_free(keyBio);
  return ctx;
}

// Serves one connection on its own thread: completes the TLS handshake, then either answers
// each request with 200 "ok" or reads and never answers. The thread ends when the client closes.
std::thread serveTlsOnce(const LoopbackListener& listener, bool answer) {
  return std::thread([&listener, answer] {
    const int fd = listener.accept();
    SSL_CTX* ctx = serverContext();
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      char buf[4096];
      while (SSL_read(ssl, buf, sizeof buf) > 0) {
        static constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (answer) SSL_write(ssl, kOk.data(), static_cast<int>(kOk.size()));
      }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  });
}

struct Timed {
  StatusOr<HttpResponse> result;
  std::chrono::milliseconds elapsed;
};

Timed timedGet(HttpsClient& client, const std::string& url) {
  const auto start = Clock::now();
  auto r = client.request("GET", url, "", "", kDeadline);
  return {std::move(r),
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)};
}

TEST(HttpsClientDeadline, ListenerThatNeverAccepts) {
  LoopbackListener listener;  // the kernel completes the TCP handshake; nobody speaks TLS
  HttpsClient client({pki().caPem, "", ""});
  const std::string origin = "https://" + listener.address();
  Timed t = timedGet(client, origin + "/readyz");
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(t.result.status().message(), origin + ": no TLS handshake within 2s");
  EXPECT_LT(t.elapsed, kMaxElapsed);
  EXPECT_GE(t.elapsed, kDeadline - std::chrono::milliseconds(100));
}

TEST(HttpsClientDeadline, ServerThatReadsTheClientHelloAndStalls) {
  LoopbackListener listener;
  std::thread peer([&listener] {
    const int fd = listener.accept();
    kthw::testing::drain(fd);  // takes the ClientHello, answers nothing, until the client quits
    ::close(fd);
  });
  HttpsClient client({pki().caPem, "", ""});
  Timed t = timedGet(client, "https://" + listener.address() + "/");
  peer.join();
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(t.result.status().message().find("no TLS handshake within 2s"), std::string::npos)
      << t.result.status().message();
  EXPECT_LT(t.elapsed, kMaxElapsed);
}

TEST(HttpsClientDeadline, ServerThatCompletesTheHandshakeAndNeverAnswers) {
  LoopbackListener listener;
  std::thread peer = serveTlsOnce(listener, false);
  const std::string url = "https://" + listener.address() + "/api/v1";
  Timed t = [&] {
    HttpsClient client({pki().caPem, "", ""});
    return timedGet(client, url);
  }();
  peer.join();  // the client gave the connection up, which ends the peer
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(t.result.status().message(), "GET " + url + ": no response within 2s");
  EXPECT_LT(t.elapsed, kMaxElapsed);
}

TEST(HttpsClientDeadline, AnsweringServerIsServedOverOneConnection) {
  LoopbackListener listener;
  std::thread peer = serveTlsOnce(listener, true);
  {
    HttpsClient client({pki().caPem, "", ""});
    for (int i = 0; i < 3; ++i) {
      Timed t = timedGet(client, "https://" + listener.address() + "/healthz");
      ASSERT_TRUE(t.result.ok()) << t.result.status().message();
      EXPECT_EQ(t.result->status, 200);
      EXPECT_EQ(t.result->body, "ok");
    }
    EXPECT_EQ(client.connections(), 1u);
  }
  peer.join();
}

TEST(HttpsClientDeadline, ApiClientReadyGivesUpOnASilentServer) {
  LoopbackListener listener;
  ApiCredentials creds;
  creds.server = "https://" + listener.address();
  creds.caPem = pki().caPem;
  HttpsApiClient api(creds);
  const auto start = Clock::now();
  Status s = api.ready();
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.message();
  EXPECT_NE(s.message().find(creds.server), std::string::npos) << s.message();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace kthw::runtime
