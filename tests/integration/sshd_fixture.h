#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/local_transport.h"
#include "runtime/ssh_transport.h"

namespace kthw::testing {

// A real sshd on 127.0.0.1 (tests/support/sshd-harness.sh) with a private copy of /etc, shared
// by the tests of one suite.
class SshdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/kthw-sshd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto r = harness("start");
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->exitStatus, 0) << r->err;
    port_ = std::stoi(r->out);
    hostKey_ = readFile(dir_ + "/host_key.pub");
    hostKey_ = hostKey_.substr(0, hostKey_.rfind(' '));
  }

  static void TearDownTestSuite() {
    (void)harness("stop");
    (void)shell("rm -rf '" + dir_ + "'");
  }

  static StatusOr<runtime::ExecResult> harness(const std::string& verb) {
    return runtime::runProcess({KTHW_SOURCE_DIR "/tests/support/sshd-harness.sh", verb, dir_}, "",
                               std::chrono::seconds(60));
  }

  static StatusOr<runtime::ExecResult> shell(const std::string& script) {
    return runtime::runProcess({"/bin/sh", "-c", script}, "", std::chrono::seconds(60));
  }

  static std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // A file of the host's private /etc, as this machine sees it.
  static std::string hostEtc(const std::string& relative) { return dir_ + "/etc/" + relative; }

  static runtime::SshOptions options() {
    runtime::SshOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.user = "root";
    o.identityFile = dir_ + "/user_key";
    o.pinnedHostKey = hostKey_;
    o.connectTimeout = std::chrono::seconds(10);
    return o;
  }

  static std::string newKey(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    (void)shell("rm -f '" + path + "' '" + path + ".pub'; ssh-keygen -q -t ed25519 -N '' -f '" +
                path + "'");
    return path;
  }

  static inline std::string dir_;
  static inline int port_ = 0;
  static inline std::string hostKey_;
};

}  // namespace kthw::testing
