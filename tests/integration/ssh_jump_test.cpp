// SshTransport through a jump host: the loopback sshd is the bastion and, through a direct-tcpip
// channel it opens to itself, the target too, so both host keys and both logins are real.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "../support/loopback.h"
#include "runtime/digest.h"
#include "runtime/ssh_transport.h"
#include "sshd_fixture.h"

namespace kthw::runtime {
namespace {

using SshJumpTest = testing::SshdTest;
constexpr std::chrono::seconds kTimeout(30);

// The target reached through the loopback sshd as bastion.
SshOptions jumped(SshOptions target, const SshOptions& bastion) {
  target.jump = std::make_shared<SshOptions>(bastion);
  return target;
}

// "type base64" of a .pub file, as spec.ssh.hostKey holds it.
std::string pinnedKeyOf(const std::string& contents) {
  return contents.substr(0, contents.rfind(' '));
}

TEST_F(SshJumpTest, RunsCommandsThroughTheBastionWithLargeInputAndOutput) {
  SshTransport t(jumped(options(), options()));
  EXPECT_NE(t.describe().find(" via root@127.0.0.1:"), std::string::npos) << t.describe();
  const std::string input(4 << 20, 'j');
  // 4 MiB in, its digest and 4 MiB out: both directions of the tunnel under window pressure.
  auto r = t.exec("sha256sum | cut -d' ' -f1; head -c 4194304 /dev/zero | tr '\\0' z; exit 3",
                  input, kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->out.size(), 65u + (4u << 20));
  EXPECT_EQ(r->out.substr(0, 65), sha256Hex(input) + "\n");
  EXPECT_EQ(r->out.find_first_not_of('z', 65), std::string::npos);
  EXPECT_EQ(r->exitStatus, 3);
  EXPECT_EQ(t.hostKeyFingerprint().rfind("SHA256:", 0), 0u);
  for (int i = 0; i < 5; ++i) {
    auto again = t.exec("echo $((" + std::to_string(i) + " + 1))", "", kTimeout);
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->out, std::to_string(i + 1) + "\n");
  }
}

// Keep-alives to the bastion fall due while the tunnel's writes wait on a full window (the
// command reads nothing for two seconds): no packet may interleave with a half-sent one.
TEST_F(SshJumpTest, KeepAlivesWhileWritesWaitLeaveTheStreamIntact) {
  SshOptions bastion = options();
  bastion.keepaliveSeconds = 1;
  SshTransport t(jumped(options(), bastion));
  const std::string input(8 << 20, 'k');
  auto r = t.exec("sleep 2; sha256sum | cut -d' ' -f1", input, kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, sha256Hex(input) + "\n");
  auto again = t.exec("echo still", "", kTimeout);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->out, "still\n");
}

// Many hosts behind one bastion log in at once: every one of them gets through.
TEST_F(SshJumpTest, ManyHostsThroughOneBastionAtOnce) {
  std::vector<std::unique_ptr<SshTransport>> transports;
  for (int i = 0; i < 12; ++i) {
    transports.push_back(std::make_unique<SshTransport>(jumped(options(), options())));
  }
  std::vector<std::string> results(transports.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < transports.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = transports[i]->exec("echo " + std::to_string(i), "", kTimeout);
      results[i] = r.ok() ? r->out : r.status().message();
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], std::to_string(i) + "\n");
}

TEST_F(SshJumpTest, RefusesAWrongBastionKeyAndNamesTheBastion) {
  const std::string otherKey = newKey("jump_other_host_key");
  SshOptions bastion = options();
  bastion.pinnedHostKey = pinnedKeyOf(readFile(otherKey + ".pub"));
  bastion.hostKeyField = "spec.ssh.proxyJump.hostKey";
  auto r = SshTransport(jumped(options(), bastion)).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  const std::string m = r.status().message();
  EXPECT_EQ(m.rfind("jump host root@127.0.0.1:" + std::to_string(port_) + ": host key mismatch", 0),
            0u)
      << m;
  EXPECT_NE(m.find("spec.ssh.proxyJump.hostKey pins"), std::string::npos) << m;
}

TEST_F(SshJumpTest, RefusesAWrongTargetKeyBehindAGoodBastion) {
  const std::string otherKey = newKey("jump_target_other_key");
  SshOptions target = options();
  target.pinnedHostKey = pinnedKeyOf(readFile(otherKey + ".pub"));
  auto r = SshTransport(jumped(target, options())).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message().rfind("via jump host root@127.0.0.1:", 0), 0u)
      << r.status().message();
  EXPECT_NE(r.status().message().find("host key mismatch"), std::string::npos);
}

TEST_F(SshJumpTest, SaysWhenTheBastionCannotReachTheTarget) {
  SshOptions target = options();
  target.port = 1;  // nothing listens there
  auto r = SshTransport(jumped(target, options())).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(": it cannot reach 127.0.0.1:1 ("), std::string::npos)
      << r.status().message();
}

TEST_F(SshJumpTest, TheConnectDeadlineFiresOnATargetThatNeverSpeaks) {
  testing::LoopbackListener silent;  // connects, never speaks
  SshOptions target = options();
  target.port = silent.port();
  target.connectTimeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  auto r = SshTransport(jumped(target, options())).exec("true", "", kTimeout);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(6));
}

TEST_F(SshJumpTest, TheConnectDeadlineFiresOnABastionThatNeverSpeaks) {
  testing::LoopbackListener silent;  // connects, never speaks
  SshOptions bastion = options();
  bastion.port = silent.port();
  SshOptions target = options();
  target.connectTimeout = std::chrono::seconds(2);
  bastion.connectTimeout = target.connectTimeout;
  const auto start = std::chrono::steady_clock::now();
  auto r = SshTransport(jumped(target, bastion)).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().message();
  EXPECT_EQ(r.status().message().rfind("jump host ", 0), 0u) << r.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
}

TEST_F(SshJumpTest, ReconnectsThroughTheBastionAfterTheConnectionsAreCut) {
  SshTransport t(jumped(options(), options()));
  ASSERT_TRUE(t.exec("true", "", kTimeout).ok());
  auto cut = harness("cut");
  ASSERT_TRUE(cut.ok());
  auto again = t.exec("echo back", "", kTimeout);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->out, "back\n");
}

}  // namespace
}  // namespace kthw::runtime
