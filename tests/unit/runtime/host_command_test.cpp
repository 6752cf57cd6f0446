// Typed host commands (runtime/host_command.h): the shell text each kind becomes, and that no
// value, however hostile, changes the structure of that text when /bin/sh runs it.
#include "runtime/host_command.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/local_transport.h"
#include "runtime/shell.h"

namespace kthw::runtime {
namespace {

using Kind = HostCommand::Kind;

// The exact text of every kind. A saved plan hashes it (cli/saved_plan.cpp), so a change here
// makes plans saved by an earlier kthw refuse to apply: change it only on purpose.
TEST(HostCommand, EachKindIsTheScriptTheHostRuns) {
  EXPECT_EQ(commandScript(HostCommand{}), "");
  EXPECT_EQ(commandScript(HostCommand::daemonReload()), "systemctl daemon-reload");
  EXPECT_EQ(commandScript(HostCommand::unit(Kind::kEnableUnit, "etcd.service")),
            "systemctl enable --quiet 'etcd.service'");
  EXPECT_EQ(commandScript(HostCommand::unit(Kind::kDisableUnitNow, "haproxy.service")),
            "systemctl disable --now --quiet 'haproxy.service'");
  HostCommand start = HostCommand::unit(Kind::kStartUnit, "etcd.service");
  EXPECT_EQ(commandScript(start), "systemctl start 'etcd.service'");
  start.noBlock = true;
  EXPECT_EQ(commandScript(start), "systemctl start 'etcd.service' --no-block");
  EXPECT_EQ(commandScript(HostCommand::unit(Kind::kRestartUnit, "etcd.service")),
            "systemctl restart 'etcd.service'");
  EXPECT_EQ(commandScript(HostCommand::unit(Kind::kReloadUnit, "nginx.service")),
            "systemctl reload 'nginx.service'");
  EXPECT_EQ(commandScript(HostCommand::unit(Kind::kCheckUnitActive, "etcd.service")),
            "systemctl is-active --quiet 'etcd.service'");
  EXPECT_EQ(commandScript(HostCommand::loadModule("br_netfilter")), "modprobe -- 'br_netfilter'");
  EXPECT_EQ(commandScript(HostCommand::setSysctls(
                {{"net.ipv4.ip_forward", "1"}, {"net.ipv4.ip_local_port_range", "1024 65000"}})),
            "set -e\n"
            "printf '%s\\n' '1' > '/proc/sys/net/ipv4/ip_forward'\n"
            "printf '%s\\n' '1024 65000' > '/proc/sys/net/ipv4/ip_local_port_range'\n");
  EXPECT_EQ(commandScript(HostCommand::link("/etc/nginx/sites-enabled/a", "../sites-available/a")),
            "ln -sfn '../sites-available/a' '/etc/nginx/sites-enabled/a'");
  EXPECT_EQ(commandScript(HostCommand::waitPortReleased(6443)),
            "for i in $(seq 1 50); do ss -Hltn | grep -q ':6443 ' || exit 0; sleep 0.1; done; "
            "echo 'port 6443 is still in use' >&2; exit 1");
  EXPECT_EQ(commandScript(HostCommand::checkHttps("https://127.0.0.1:2379/health", "/ca.pem",
                                                  "/c.pem", "/c-key.pem")),
            "command -v curl >/dev/null || { echo 'health checks need curl on the host' >&2; "
            "exit 3; }\ncurl -fsS --max-time 5 --cacert '/ca.pem' --cert '/c.pem' --key "
            "'/c-key.pem' 'https://127.0.0.1:2379/health' >/dev/null");
  // A client certificate without its key is not offered.
  EXPECT_EQ(
      commandScript(HostCommand::checkHttps("http://127.0.0.1:10251/healthz", "", "/c.pem", ""))
          .find("--cert"),
      std::string::npos);
}

// Failures name the command in a line people read, never the first line of its shell.
TEST(HostCommand, EachKindIsDescribedInOneLineForMessages) {
  EXPECT_EQ(describeCommand(HostCommand::unit(Kind::kRestartUnit, "kube-scheduler.service")),
            "systemctl restart kube-scheduler.service");
  EXPECT_EQ(describeCommand(HostCommand::daemonReload()), "systemctl daemon-reload");
  EXPECT_EQ(
      describeCommand(HostCommand::checkHttps("https://127.0.0.1:2379/health", "/ca.pem", "", "")),
      "health check https://127.0.0.1:2379/health");
  EXPECT_EQ(describeCommand(HostCommand::setSysctls({{"a.b", "1"}, {"c.d", "2"}})),
            "set sysctls a.b, c.d");
  EXPECT_EQ(describeCommand(HostCommand::loadModule("overlay")), "modprobe overlay");
  EXPECT_EQ(describeCommand(HostCommand::waitPortReleased(6443)),
            "wait for port 6443 to be released");
  const std::string line = describeCommand(HostCommand::unit(Kind::kStartUnit, "a\nb'c"));
  EXPECT_EQ(line, "systemctl start a?b'c");
}

TEST(HostCommand, HaproxyCarriesOnlyWordsItsCommandLineCannotSplit) {
  auto ok = HostCommand::haproxyServerState("backend-1", "controller-0", "maint", "/run/a.sock");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_NE(commandScript(*ok).find("'set server backend-1/controller-0 state maint'"),
            std::string::npos);
  EXPECT_NE(commandScript(*ok).find("unix-connect:'/run/a.sock'"), std::string::npos);
  for (const auto& [backend, server, state] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"b", "a;b", "maint"},
           {"b", "a b", "maint"},
           {"b", "", "maint"},
           {"b;show", "a", "maint"},
           {"b", "a", "ready\nshow"},
       }) {
    auto refused = HostCommand::haproxyServerState(backend, server, state, "/run/a.sock");
    ASSERT_FALSE(refused.ok()) << backend << "/" << server << " " << state;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  }
}

// /bin/sh runs each script with stand-ins for systemctl, modprobe and curl on PATH that print
// the words they got: each hostile value arrives as one word, exactly, and nothing else runs.
class HostCommandShell : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kthw-command-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/bin");
    for (const char* tool : {"systemctl", "modprobe", "curl"}) {
      const std::string path = dir_ + "/bin/" + tool;
      std::ofstream(path) << "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\n";
      std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ExecResult run(const HostCommand& c) {
    const std::string script = "PATH=" + shellQuote(dir_ + "/bin") + ":$PATH\ncd " +
                               shellQuote(dir_) + "\n" + commandScript(c);
    auto r = runProcess({"/bin/sh", "-c", script}, "", std::chrono::seconds(10));
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : ExecResult{};
  }

  std::string dir_;
};

const std::string kHostile = "a'b\"c $(touch pwned) `touch pwned` ;x\nexit 7 #";

TEST_F(HostCommandShell, AHostileUnitModuleOrUrlStaysOneWord) {
  ExecResult unit = run(HostCommand::unit(Kind::kRestartUnit, kHostile));
  EXPECT_EQ(unit.exitStatus, 0) << unit.err;
  EXPECT_EQ(unit.out, "[restart][" + kHostile + "]\n");
  ExecResult module = run(HostCommand::loadModule(kHostile));
  EXPECT_EQ(module.out, "[--][" + kHostile + "]\n");
  HostCommand get = HostCommand::httpRequest("POST", "http://127.0.0.1:1/" + kHostile);
  get.header = kHostile;
  get.body = kHostile;
  ExecResult http = run(get);
  EXPECT_EQ(http.exitStatus, 0) << http.err;
  EXPECT_EQ(http.out, "[-fsS][--max-time][5][-X][POST][-H][" + kHostile + "][--data-binary][" +
                          kHostile + "][http://127.0.0.1:1/" + kHostile + "]\n");
  ExecResult check = run(HostCommand::checkHttps(kHostile, kHostile, kHostile, kHostile));
  EXPECT_EQ(check.exitStatus, 0) << check.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned"));
}

// A haproxy command built by hand, past the factory's check, fails on the host and runs nothing.
TEST_F(HostCommandShell, AHandBuiltHaproxyCommandWithHostileWordsFailsAndRunsNothing) {
  HostCommand c;
  c.kind = Kind::kHaproxyServerState;
  c.target = "backend";
  c.name = "x\ntouch pwned; exit 0 #";
  c.state = "maint;shutdown sessions";
  c.socket = "/nonexistent";
  ExecResult r = run(c);
  EXPECT_EQ(r.exitStatus, 1);
  EXPECT_NE(r.err.find("haproxy's admin socket cannot carry"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned"));
}

TEST_F(HostCommandShell, ALinkWithHostileNamesIsMadeWhereItSays) {
  const std::string name = "link " + kHostile;
  const std::string target = "target " + kHostile;
  ExecResult r = run(HostCommand::link(dir_ + "/" + name, target));
  EXPECT_EQ(r.exitStatus, 0) << r.err;
  EXPECT_EQ(std::filesystem::read_symlink(dir_ + "/" + name).string(), target);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned"));
}

}  // namespace
}  // namespace kthw::runtime
