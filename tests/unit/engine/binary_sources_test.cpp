// Binaries from URLs, against a local HTTPS server: the sha256 is read from sha256URL or pinned,
// redirects are followed, a mismatch stops everything, and a verified copy is cached.
#include "engine/binary_sources.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../../support/apiserver_sim/tls_server.h"
#include "../resources/test_util.h"
#include "reconcilers/control_plane_service_reconciler.h"
#include "runtime/digest.h"
#include "runtime/pki.h"

namespace kthw::engine {
namespace {

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class FetchBinariesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/kthw-fetch-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    auto caKey = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest ca;
    ca.commonName = "test-ca";
    ca.isCa = true;
    ca.validity = std::chrono::hours(24);
    const auto now = std::chrono::system_clock::now();
    auto caPem = runtime::issueCertificate(ca, *caKey, "", *caKey, now);
    auto key = runtime::generatePrivateKey(runtime::KeyType::kEcdsaP256);
    runtime::CertificateRequest server;
    server.commonName = "127.0.0.1";
    server.ipAddresses = {"127.0.0.1"};
    server.serverAuth = true;
    server.validity = std::chrono::hours(24);
    auto pem = runtime::issueCertificate(server, *key, *caPem, *caKey, now);
    std::ofstream(dir_ + "/ca.pem") << *caPem;
    std::ofstream(dir_ + "/server.pem") << *pem;
    std::ofstream(dir_ + "/server.key") << key->pem;
    // The fetcher trusts the system roots; OpenSSL reads them from SSL_CERT_FILE.
    ::setenv("SSL_CERT_FILE", (dir_ + "/ca.pem").c_str(), 1);
    port_ = freePort();
    std::thread([] {
      sim::TlsServerConfig cfg;
      cfg.address = "127.0.0.1";
      cfg.port = port_;
      cfg.certFile = dir_ + "/server.pem";
      cfg.keyFile = dir_ + "/server.key";
      sim::serveTls(cfg, [](const sim::Request& r) -> sim::Response {
        if (r.target == "/bin") return {200, kBinary, "application/octet-stream", ""};
        if (r.target == "/bin.sha256")
          return {200, runtime::sha256Hex(kBinary) + "  bin\n", "text/plain", ""};
        if (r.target == "/moved") return {302, "", "text/plain", "/bin"};
        return {404, "", "text/plain", ""};
      });
    }).detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  static void TearDownTestSuite() { EXPECT_TRUE(sim::awaitNoOpenConnections()); }

  resources::LoadOutcome state(const std::string& binary) {
    const std::string yaml =
        std::string(resources::testing::kMinimalHosts) +
        "---\napiVersion: kthw.dev/v1alpha1\nkind: ControlPlaneService\n"
        "metadata: {name: kube-apiserver}\nspec:\n  component: kube-apiserver\n"
        "  hosts: {selector: {role: controller}}\n  binary: " +
        binary + "\n";
    auto o = resources::testing::loadText(yaml);
    EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
    return o;
  }

  std::string url(const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
  }

  static inline std::string dir_;
  static inline int port_ = 0;
  static inline const std::string kBinary = std::string(300000, 'x') + "ELF";
};

TEST_F(FetchBinariesTest, ReadsTheSha256FollowsRedirectsAndCaches) {
  auto o = state("{path: /usr/local/bin/kube-apiserver, url: '" + url("/moved") +
                 "', sha256URL: '" + url("/bin.sha256") + "'}");
  const std::string cache = dir_ + "/cache";
  std::filesystem::remove_all(cache);
  std::map<std::string, reconcilers::BinarySource> binaries;
  Status s = fetchBinaries(o.state, cache, false, binaries);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(binaries.at("kube-apiserver").sha256, runtime::sha256Hex(kBinary));
  EXPECT_TRUE(binaries.at("kube-apiserver").local.path.empty());  // diff downloads nothing
  EXPECT_FALSE(std::filesystem::exists(cache));
  s = fetchBinaries(o.state, cache, true, binaries);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(binaries.at("kube-apiserver").local.path, cache + "/" + runtime::sha256Hex(kBinary));
  EXPECT_EQ(binaries.at("kube-apiserver").local.size, kBinary.size());
  EXPECT_TRUE(std::filesystem::exists(cache + "/" + runtime::sha256Hex(kBinary)));
}

TEST_F(FetchBinariesTest, RefusesABinaryWhoseSha256DiffersFromThePin) {
  auto o = state("{path: /usr/local/bin/kube-apiserver, url: '" + url("/bin") +
                 "', sha256: " + std::string(64, 'a') + "}");
  std::map<std::string, reconcilers::BinarySource> binaries;
  Status s = fetchBinaries(o.state, dir_ + "/cache2", true, binaries);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nothing was pushed"), std::string::npos) << s.message();
  EXPECT_TRUE(binaries.empty());
}

}  // namespace
}  // namespace kthw::engine

namespace kthw::engine {
namespace {

TEST(LoadBinaries, ReadsALocalBinaryAgainOnlyWhenItChanged) {
  const std::string path = "/tmp/kthw-load-binary-" + std::to_string(::getpid());
  auto load = [&] {
    auto o = resources::testing::loadText(
        std::string(resources::testing::kMinimalHosts) +
        "---\napiVersion: kthw.dev/v1alpha1\nkind: ControlPlaneService\n"
        "metadata: {name: kube-scheduler}\nspec:\n  component: kube-scheduler\n"
        "  hosts: {selector: {role: controller}}\n  binary: {path: /usr/local/bin/kube-scheduler, "
        "file: " +
        path + "}\n");
    EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
    auto b = loadBinaries(o.state);
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() && b->count("kube-scheduler") != 0 ? b->at("kube-scheduler")
                                                     : reconcilers::BinarySource{};
  };
  { std::ofstream(path) << "first build"; }
  EXPECT_EQ(load().sha256, runtime::sha256Hex("first build"));
  EXPECT_EQ(load().local.size, std::string("first build").size());
  // Same size, new content: the modification time tells.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  { std::ofstream(path) << "other build"; }
  EXPECT_EQ(load().sha256, runtime::sha256Hex("other build"));
  EXPECT_EQ(load().local.path, path);
  // The hash is kept for the next run beside the binary cache, keyed by the file's state.
  std::ifstream cache(std::filesystem::path(defaultBinaryCacheDir()).parent_path() /
                      "local-hashes");
  std::stringstream kept;
  kept << cache.rdbuf();
  EXPECT_NE(kept.str().find("\t" + runtime::sha256Hex("other build") + "\t11\t" + path + "\n"),
            std::string::npos)
      << kept.str();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kthw::engine
