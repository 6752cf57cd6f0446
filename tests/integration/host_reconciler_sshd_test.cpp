// The Host reconciler's scenarios once more, against a real sshd whose /etc is a private copy.
#include <gtest/gtest.h>

#include <fstream>

#include "../unit/resources/test_util.h"
#include "engine/host_pass.h"
#include "reconcilers/host_reconciler.h"
#include "sshd_fixture.h"

namespace kthw::reconcilers {
namespace {

class HostOverSshTest : public testing::SshdTest {
 protected:
  resources::LoadOutcome load() {
    const std::string forward = readFile("/proc/sys/net/ipv4/ip_forward");
    const std::string yaml =
        "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata: {name: sshd-0}\nspec:\n"
        "  address: 127.0.0.1\n"
        "  ssh:\n    port: " +
        std::to_string(port_) + "\n    identityFile: " + dir_ + "/user_key\n    hostKey: \"" +
        hostKey_ +
        "\"\n"
        "  etcHosts:\n    - {ip: 10.0.1.20, names: [ip-10-0-1-20]}\n"
        "  directories:\n    - {path: /etc/kthw-dir/config, mode: \"0750\"}\n"
        // The running value already matches, so the test never changes this machine's kernel.
        "  sysctls:\n    net.ipv4.ip_forward: \"" +
        forward.substr(0, forward.find('\n')) + "\"\n";
    auto loaded = resources::testing::loadText(yaml);
    EXPECT_TRUE(loaded.ok()) << resources::testing::joinErrors(loaded);
    return loaded;
  }

  std::vector<engine::HostOutcome> pass(const resources::DesiredState& state, bool apply) {
    static const HostBasicsReconciler kReconciler;
    const std::vector<const HostScopedReconciler*> reconcilers = {&kReconciler};
    engine::PassOptions options;
    options.fetchDiffContent = !apply;
    return apply ? engine::applyHosts(state, reconcilers, engine::connectHost, options)
                 : engine::planHosts(state, reconcilers, engine::connectHost, options);
  }
};

TEST_F(HostOverSshTest, AppliesDetectsDriftAndRepairs) {
  auto loaded = load();
  ASSERT_TRUE(loaded.ok());
  auto first = pass(loaded.state, true);
  ASSERT_TRUE(first[0].reach.ok()) << first[0].reach.message();
  ASSERT_FALSE(first[0].failed());
  EXPECT_EQ(first[0].results.size(), 3u);  // directory, /etc/hosts, sysctl file
  EXPECT_NE(readFile(hostEtc("hosts")).find("10.0.1.20 ip-10-0-1-20"), std::string::npos);
  EXPECT_NE(readFile(hostEtc("sysctl.d/90-kthw.conf")).find("net.ipv4.ip_forward = "),
            std::string::npos);

  auto second = pass(loaded.state, false);
  EXPECT_TRUE(second[0].plan.converged());

  ASSERT_TRUE(shell("sed -i 's/ip-10-0-1-20/edited/' '" + hostEtc("hosts") + "'").ok());
  auto drift = pass(loaded.state, false);
  ASSERT_EQ(drift[0].plan.actions.size(), 1u);
  EXPECT_EQ(drift[0].plan.actions[0].target, "/etc/hosts");
  auto repair = pass(loaded.state, true);
  EXPECT_FALSE(repair[0].failed());
  EXPECT_TRUE(pass(loaded.state, false)[0].plan.converged());
}

// The block is edited where it stands: the operator's lines before and after it keep their
// order, so a line after the block never comes to override kthw's entries.
TEST_F(HostOverSshTest, UpdatesTheEtcHostsBlockInPlace) {
  auto loaded = load();
  ASSERT_TRUE(loaded.ok());
  const std::string before = "127.0.0.1 localhost\n10.9.9.1 operator-before\n";
  const std::string after = "10.0.1.20 operator-after\n::1 localhost ip6-localhost\n";
  std::ofstream(hostEtc("hosts"), std::ios::binary)
      << before << "# BEGIN kthw managed block\n10.0.1.20 stale-name\n# END kthw managed block\n"
      << after;
  auto plan = pass(loaded.state, false);
  ASSERT_TRUE(plan[0].reach.ok()) << plan[0].reach.message();
  auto applied = pass(loaded.state, true);
  ASSERT_FALSE(applied[0].failed());
  EXPECT_EQ(readFile(hostEtc("hosts")), before +
                                            "# BEGIN kthw managed block\n10.0.1.20 ip-10-0-1-20\n" +
                                            "# END kthw managed block\n" + after);
  EXPECT_TRUE(pass(loaded.state, false)[0].plan.converged());
}

}  // namespace
}  // namespace kthw::reconcilers
