#include "runtime/ssh_transport.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <thread>

#include "runtime/digest.h"
#include "runtime/host_ops.h"
#include "sshd_fixture.h"

namespace kthw::runtime {
namespace {

using SshTransportTest = testing::SshdTest;
constexpr std::chrono::seconds kTimeout(30);

// "SHA256:..." of a public key file, from OpenSSH's own ssh-keygen.
std::string opensshFingerprint(const std::string& pubFile) {
  auto r =
      runProcess({"ssh-keygen", "-l", "-E", "sha256", "-f", pubFile}, "", std::chrono::seconds(10));
  EXPECT_TRUE(r.ok() && r->exitStatus == 0) << pubFile;
  if (!r.ok()) return "ssh-keygen failed";
  const size_t start = r->out.find("SHA256:");
  if (start == std::string::npos) return "no fingerprint in: " + r->out;
  return r->out.substr(start, r->out.find(' ', start) - start);
}

TEST_F(SshTransportTest, RunsCommandsWithStdinExitStatusAndStderr) {
  SshTransport t(options());
  const std::string input(1 << 20, 'k');
  auto r = t.exec("sha256sum | cut -d' ' -f1; echo warn >&2; exit 7", input, kTimeout);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->out, sha256Hex(input) + "\n");
  EXPECT_EQ(r->err, "warn\n");
  EXPECT_EQ(r->exitStatus, 7);
  EXPECT_EQ(t.hostKeyFingerprint().rfind("SHA256:", 0), 0u);
}

TEST_F(SshTransportTest, ReusesOneConnectionForManyExecs) {
  SshTransport t(options());
  ASSERT_TRUE(t.exec("true", "", kTimeout).ok());
  const uint64_t afterConnect = t.roundTrips();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(t.exec("true", "", kTimeout).ok());
  EXPECT_EQ(t.roundTrips(), afterConnect + 5);  // one per exec, no new handshakes
}

TEST_F(SshTransportTest, WritesAtomicallyWithOwnerAndMode) {
  ShellHostOps ops(std::make_shared<SshTransport>(options()), kTimeout);
  Status s = ops.writeFile(FileSpec{"/etc/kthw-test/secret.pem", "root", "root", 0600}, "PRIVATE\n",
                           std::string(""));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(readFile(hostEtc("kthw-test/secret.pem")), "PRIVATE\n");
  struct stat st {};
  ASSERT_EQ(::stat(hostEtc("kthw-test/secret.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // The guard refuses to overwrite a file that changed since it was read.
  Status stale = ops.writeFile(FileSpec{"/etc/kthw-test/secret.pem", "root", "root", 0600},
                               "OTHER\n", std::string(""));
  EXPECT_EQ(stale.code(), StatusCode::kAborted) << stale.message();
  EXPECT_EQ(readFile(hostEtc("kthw-test/secret.pem")), "PRIVATE\n");
}

TEST_F(SshTransportTest, HostLockHasOneWriterNamesTheHolderAndTakesOverAStaleOne) {
  ShellHostOps a(std::make_shared<SshTransport>(options()), kTimeout);
  ShellHostOps b(std::make_shared<SshTransport>(options()), kTimeout);
  (void)shell(std::string("rm -f ") + kHostLockPath);
  const std::chrono::seconds stale(900);
  auto first = a.lock("kthw-apply root@a pid 1", stale);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->acquired);
  auto second = b.lock("kthw-run root@b pid 2", stale);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_FALSE(second->acquired);
  EXPECT_EQ(second->holder, "kthw-apply root@a pid 1");
  EXPECT_GE(second->heldSeconds, 0);
  EXPECT_TRUE(a.lock("kthw-apply root@a pid 1", stale)->acquired) << "the holder may take it again";
  ASSERT_TRUE(b.unlock("kthw-run root@b pid 2").ok());
  EXPECT_FALSE(b.lock("kthw-run root@b pid 2", stale)->acquired) << "only the holder releases";
  ASSERT_TRUE(a.unlock("kthw-apply root@a pid 1").ok());
  EXPECT_TRUE(b.lock("kthw-run root@b pid 2", stale)->acquired);
  // A holder that died an hour ago: its lock is stale and taken over, and that is reported.
  ASSERT_TRUE(
      shell(std::string("echo \"$(( $(date +%s) - 3600 )) kthw-apply root@gone pid 9\" > ") +
            kHostLockPath)
          .ok());
  auto takeover = a.lock("kthw-apply root@a pid 1", stale);
  ASSERT_TRUE(takeover.ok());
  EXPECT_TRUE(takeover->acquired);
  EXPECT_NE(takeover->tookOver.find("kthw-apply root@gone pid 9"), std::string::npos)
      << takeover->tookOver;
  EXPECT_NE(readFile(kHostLockPath).find("kthw-apply root@a pid 1"), std::string::npos);
  ASSERT_TRUE(a.unlock("kthw-apply root@a pid 1").ok());
  EXPECT_FALSE(std::filesystem::exists(kHostLockPath));
}

TEST_F(SshTransportTest, SudoRunsCommandsAsRootForANonRootUser) {
  SshOptions o = options();
  o.user = "kthw";
  auto plain = SshTransport(o).exec("id -u", "", kTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status().toString();
  EXPECT_EQ(plain->out, "4242\n");
  o.sudo = true;
  auto elevated = SshTransport(o).exec("id -u", "", kTimeout);
  ASSERT_TRUE(elevated.ok()) << elevated.status().message();
  EXPECT_EQ(elevated->out, "0\n") << elevated->err;
}

TEST_F(SshTransportTest, ReconnectsAfterTheServerDropsTheConnection) {
  SshTransport t(options());
  ASSERT_TRUE(t.exec("true", "", kTimeout).ok());
  auto cut = harness("cut");
  ASSERT_TRUE(cut.ok());
  auto again = t.exec("echo back", "", kTimeout);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->out, "back\n");
}

TEST_F(SshTransportTest, RefusesAMismatchedHostKeyBeforeSendingCredentials) {
  const std::string otherKey = newKey("other_host_key");
  std::string pinned = readFile(otherKey + ".pub");
  const size_t logBefore = readFile(dir_ + "/sshd.log").size();
  SshOptions o = options();
  o.pinnedHostKey = pinned.substr(0, pinned.rfind(' '));
  SshTransport t(o);
  auto r = t.exec("touch /etc/kthw-should-not-exist", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("host key mismatch"), std::string::npos);
  // Both fingerprints, as OpenSSH prints them, so the operator can tell a re-keyed host from a
  // wrong pin: the one the server offers and the one pinned.
  const std::string offered = opensshFingerprint(dir_ + "/host_key.pub");
  const std::string wanted = opensshFingerprint(otherKey + ".pub");
  ASSERT_NE(offered, wanted);
  EXPECT_NE(r.status().message().find("offers ssh-ed25519 " + offered), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("pins ssh-ed25519 " + wanted), std::string::npos)
      << r.status().message();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string log = readFile(dir_ + "/sshd.log").substr(logBefore);
  EXPECT_EQ(log.find("publickey"), std::string::npos) << log;
  EXPECT_EQ(log.find("Accepted"), std::string::npos) << log;
  struct stat st {};
  EXPECT_NE(::stat(hostEtc("kthw-should-not-exist").c_str(), &st), 0);
}

TEST_F(SshTransportTest, RefusesAnUnknownHostInStrictMode) {
  SshOptions o = options();
  o.pinnedHostKey.clear();
  o.knownHostsFile = dir_ + "/empty_known_hosts";
  (void)shell("rm -f '" + o.knownHostsFile + "'; touch '" + o.knownHostsFile + "'");
  auto r = SshTransport(o).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("unknown host key"), std::string::npos);
}

TEST_F(SshTransportTest, AcceptNewRecordsFirstContactAndRefusesAChange) {
  SshOptions o = options();
  o.pinnedHostKey.clear();
  o.knownHostsFile = dir_ + "/accept_new_known_hosts";
  o.hostKeyCheck = HostKeyCheck::kAcceptNew;
  (void)shell("rm -f '" + o.knownHostsFile + "'");
  ASSERT_TRUE(SshTransport(o).exec("true", "", kTimeout).ok());
  const std::string recorded = readFile(o.knownHostsFile);
  EXPECT_NE(recorded.find("[127.0.0.1]:" + std::to_string(port_)), std::string::npos) << recorded;
  ASSERT_TRUE(SshTransport(o).exec("true", "", kTimeout).ok());  // known now
  // The same host:port with another key is refused, even in accept-new mode.
  std::string other = readFile(newKey("changed_host_key") + ".pub");
  std::ofstream(o.knownHostsFile) << "[127.0.0.1]:" << port_ << " "
                                  << other.substr(0, other.rfind(' ')) << "\n";
  auto r = SshTransport(o).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("changed"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(opensshFingerprint(dir_ + "/host_key.pub")),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(opensshFingerprint(dir_ + "/changed_host_key.pub")),
            std::string::npos)
      << r.status().message();
}

TEST_F(SshTransportTest, RefusesAWrongUserKey) {
  SshOptions o = options();
  o.identityFile = newKey("stranger_key");
  auto r = SshTransport(o).exec("true", "", kTimeout);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("authentication as root@127.0.0.1 failed"),
            std::string::npos);
}

TEST_F(SshTransportTest, AuthenticatesWithEcdsaAndRsaKeys) {
  for (const char* key : {"/user_key_ecdsa", "/user_key_rsa"}) {
    SshOptions o = options();
    o.identityFile = dir_ + key;
    auto r = SshTransport(o).exec("echo in", "", kTimeout);
    ASSERT_TRUE(r.ok()) << key << ": " << r.status().toString();
    EXPECT_EQ(r->out, "in\n");
  }
}

TEST_F(SshTransportTest, AuthenticatesWithSshAgent) {
  const std::string sock = dir_ + "/agent.sock";
  auto agent =
      shell("rm -f '" + sock + "'; ssh-agent -a '" + sock + "' >'" + dir_ +
            "/agent.env' && SSH_AUTH_SOCK='" + sock + "' ssh-add -q '" + dir_ + "/user_key_ecdsa'");
  ASSERT_TRUE(agent.ok());
  ASSERT_EQ(agent->exitStatus, 0) << agent->err;
  const char* previous = std::getenv("SSH_AUTH_SOCK");
  const std::string saved = previous != nullptr ? previous : "";
  ::setenv("SSH_AUTH_SOCK", sock.c_str(), 1);
  SshOptions o = options();
  o.identityFile.clear();
  o.useAgent = true;
  auto r = SshTransport(o).exec("echo agent", "", kTimeout);
  if (previous != nullptr)
    ::setenv("SSH_AUTH_SOCK", saved.c_str(), 1);
  else
    ::unsetenv("SSH_AUTH_SOCK");
  (void)shell(". '" + dir_ + "/agent.env' >/dev/null; ssh-agent -k >/dev/null");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out, "agent\n");
}

TEST_F(SshTransportTest, ReportsAClosedPortAsUnavailable) {
  SshOptions o = options();
  o.port = 1;  // nothing listens there on loopback
  auto r = SshTransport(o).exec("true", "", kTimeout);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().message();
}

// Cut the connection while a large file is being written, many times: the target always holds
// a whole old or a whole new content, and a later write leaves no temp file behind.
TEST_F(SshTransportTest, CutMidWriteNeverLeavesATornFile) {
  const std::string target = "/etc/kthw-cut/target";
  const std::string a(4 << 20, 'a');
  const std::string b(4 << 20, 'b');
  ShellHostOps setup(std::make_shared<SshTransport>(options()), kTimeout);
  ASSERT_TRUE(setup.writeFile(FileSpec{target}, a, std::nullopt).ok());
  // Cut at random moments spread over the time an uncut write takes, so that some cuts land
  // early, some late and some after the rename.
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ShellHostOps(std::make_shared<SshTransport>(options()), kTimeout)
                  .writeFile(FileSpec{target}, b, std::nullopt)
                  .ok());
  const auto uncut = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  std::mt19937 random(42);
  int cuts = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string& content = i % 2 == 0 ? a : b;
    ShellHostOps ops(std::make_shared<SshTransport>(options()), kTimeout);
    Status result;
    std::thread writer([&] { result = ops.writeFile(FileSpec{target}, content, std::nullopt); });
    std::this_thread::sleep_for(std::chrono::microseconds(random() % (uncut.count() * 3 / 2)));
    ASSERT_TRUE(harness("cut").ok());
    writer.join();
    if (!result.ok()) ++cuts;
    const std::string now = readFile(hostEtc("kthw-cut/target"));
    ASSERT_TRUE(now == a || now == b)
        << "torn file after cut " << i << ": " << now.size() << " bytes";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // orphaned scripts finish
  ASSERT_TRUE(setup.writeFile(FileSpec{target}, "final\n", std::nullopt).ok());
  auto leftovers = shell("ls -A '" + hostEtc("kthw-cut") + "'");
  ASSERT_TRUE(leftovers.ok());
  EXPECT_EQ(leftovers->out, "target\n");
  EXPECT_GE(cuts, 10) << "too few writes were cut to test anything";
  std::cout << "[ cut ] " << cuts << " of 100 writes were cut mid-way (an uncut write took "
            << uncut.count() / 1000 << " ms)\n";
}

}  // namespace
}  // namespace kthw::runtime
