// Flag checks against the real kube-apiserver and etcd the lab builds (tests/lab/components/build,
// run by make test before the unit tests): unknown flags are named, deprecated flags that --help
// hides are accepted, and the flag list is cached per binary state.
#include "runtime/binary_flags.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/host_probe.h"
#include "runtime/local_transport.h"

namespace kthw::runtime {
namespace {

std::string componentsDir() {
  const char* dir = std::getenv("KTHW_COMPONENTS_DIR");
  return dir != nullptr ? dir : "/var/cache/kthw-lab/components";
}

// Each run of a binary has 60 s in the script; the test's deadline covers a few such runs on a
// loaded machine.
constexpr auto kDeadline = std::chrono::seconds(300);

class BinaryFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    apiserver_ = componentsDir() + "/kubernetes-v1.36.3/kube-apiserver";
    etcd_ = componentsDir() + "/etcd-v3.6.15/etcd";
    ASSERT_TRUE(std::filesystem::exists(apiserver_) && std::filesystem::exists(etcd_))
        << "the lab's components are missing: run tests/lab/components/build (make test does)";
    cache_ = ::testing::TempDir() + "/kthw-flags-" + std::to_string(::getpid());
    std::filesystem::remove_all(cache_);
  }
  void TearDown() override { std::filesystem::remove_all(cache_); }

  ProbeResult probe(const std::vector<FlagCheck>& checks, bool keep,
                    const std::string& prologue = "") {
    auto r = runProcess({"/bin/sh", "-c",
                         prologue + "printf 'KTHW-PROBE 1\\n'\n" +
                             flagProbeScript(checks, keep, cache_) + "printf 'END\\n'\n"},
                        "", kDeadline);
    EXPECT_TRUE(r.ok() && r->exitStatus == 0);
    auto parsed = parseProbeOutput(r.ok() ? r->out : "");
    EXPECT_TRUE(parsed.ok()) << (r.ok() ? r->out + r->err : "");
    return parsed.ok() ? *parsed : ProbeResult{};
  }

  ExecResult check(const FlagCheck& c) {
    auto r = runProcess({"/bin/sh", "-c", flagWriteCheck(c, "", cache_)}, "", kDeadline);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ExecResult{};
  }

  std::string apiserver_;
  std::string etcd_;
  std::string cache_;
};

TEST_F(BinaryFlagsTest, NamesTheFlagsTheRealApiserverRefusesAndAcceptsHiddenDeprecatedOnes) {
  // kubelet-https left kube-apiserver in v1.22; etcd-server is a typo of etcd-servers;
  // apiserver-count is deprecated, so --help hides it, but the binary still takes it.
  auto r = probe({{apiserver_,
                   {"advertise-address", "kubelet-https", "etcd-servers", "etcd-server",
                    "apiserver-count", "v"}}},
                 false);
  ASSERT_EQ(r.binaryFlags.count(apiserver_), 1u);
  const BinaryFlags& f = r.binaryFlags.at(apiserver_);
  EXPECT_EQ(f.version, "Kubernetes v1.36.3");
  EXPECT_EQ(f.unknown, (std::vector<std::string>{"kubelet-https", "etcd-server"}));
  EXPECT_EQ(describeUnknownFlags(apiserver_, f),
            "flag --kubelet-https, --etcd-server are not accepted by " + apiserver_ +
                " (Kubernetes v1.36.3)");
  EXPECT_FALSE(std::filesystem::exists(cache_)) << "diff must leave the host untouched";
}

TEST_F(BinaryFlagsTest, EtcdsGoFlagParserIsUnderstoodToo) {
  auto r = probe({{etcd_, {"name", "initial-cluster", "kubelet-https"}}}, false);
  ASSERT_EQ(r.binaryFlags.count(etcd_), 1u);
  EXPECT_EQ(r.binaryFlags.at(etcd_).version, "etcd Version: 3.6.15");
  EXPECT_EQ(r.binaryFlags.at(etcd_).unknown, std::vector<std::string>{"kubelet-https"});
}

TEST_F(BinaryFlagsTest, AMissingBinaryIsNotReported) {
  auto r = probe({{cache_ + "/no-such-binary", {"x"}}}, false);
  EXPECT_TRUE(r.binaryFlags.empty());
}

TEST_F(BinaryFlagsTest, KeepsTheFlagListAndReadsItAgainOnlyWhenTheBinaryChanges) {
  const std::string copy = cache_ + "-bin";
  std::filesystem::copy_file(etcd_, copy, std::filesystem::copy_options::overwrite_existing);
  auto r = probe({{copy, {"name", "bogus-flag"}}}, true);
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  ASSERT_TRUE(std::filesystem::exists(cache_));
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(cache_), {}), 1);
  const auto entry = *std::filesystem::directory_iterator(cache_);
  // A cached list that claims every flag proves the second probe reads the cache, not --help.
  std::string key;
  std::getline(std::ifstream(entry.path()), key);
  std::ofstream(entry.path()) << key << "\nfrom the cache\n--name\n--bogus-flag\n";
  r = probe({{copy, {"name", "bogus-flag"}}}, true);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "from the cache");
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty());
  // A new binary in its place (new inode and ctime) is read again.
  std::filesystem::remove(copy);
  std::filesystem::copy_file(etcd_, copy);
  r = probe({{copy, {"name", "bogus-flag"}}}, true);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  std::filesystem::remove(copy);
}

// A binary among the probe's paths is checked by the probe's file awk: from its cached list (in
// "flags" beside the hash cache) while the binary's key matches and the list holds every flag,
// else by kthw_flags as before.
TEST_F(BinaryFlagsTest, TheProbeChecksABinaryAmongItsPathsFromTheCachedList) {
  const std::string copy = cache_ + "-probe-bin";
  std::filesystem::copy_file(etcd_, copy, std::filesystem::copy_options::overwrite_existing);
  ProbeRequest req;
  req.facts = false;
  req.addPath(copy);
  req.hashCache = cache_ + "/probe-hashes";
  req.flagChecks = {{copy, {"name", "bogus-flag"}}};
  auto probe = [&](bool keep) {
    req.updateHashCache = keep;
    auto r = runProcess({"/bin/sh", "-c", probeScript(req)}, "", kDeadline);
    EXPECT_TRUE(r.ok() && r->exitStatus == 0);
    auto parsed = parseProbeOutput(r.ok() ? r->out : "");
    EXPECT_TRUE(parsed.ok()) << (r.ok() ? r->out + r->err : "");
    return parsed.ok() ? *parsed : ProbeResult{};
  };
  ProbeResult r = probe(false);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  EXPECT_FALSE(std::filesystem::exists(cache_ + "/flags")) << "diff must leave the host untouched";
  r = probe(true);
  ASSERT_TRUE(std::filesystem::exists(cache_ + "/flags"));
  const auto entry = *std::filesystem::directory_iterator(cache_ + "/flags");
  std::string key;
  std::getline(std::ifstream(entry.path()), key);
  std::ofstream(entry.path()) << key << "\nfrom the cache\n--name\n--bogus-flag\n";
  r = probe(false);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "from the cache");
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty());
  // A flag the list lacks: kthw_flags again (it confirms --name and refuses --other-bogus).
  req.flagChecks = {{copy, {"name", "other-bogus"}}};
  r = probe(false);
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"other-bogus"});
  // A rewritten binary (new ctime) is read again.
  std::filesystem::remove(copy);
  std::filesystem::copy_file(etcd_, copy);
  req.flagChecks = {{copy, {"name", "bogus-flag"}}};
  r = probe(false);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  // An absent binary is not reported.
  std::filesystem::remove(copy);
  EXPECT_TRUE(probe(false).binaryFlags.empty());
}

// A run of the binary that times out answers nothing, a list built with one is not kept (the
// next pass asks the binary again), and the script's later runs are skipped. A `timeout` first on
// PATH stands in for a slow host by exiting 124 (as timeout(1) does when its deadline fires) for
// the runs whose arguments match KTHW_SLOW.
TEST_F(BinaryFlagsTest, ARunThatTimesOutIsNotReportedAndTheListIsNotKept) {
  const std::string copy = cache_ + "-slow-bin";
  const std::string other = cache_ + "-other-bin";
  const std::string bin = cache_ + "-path";
  std::filesystem::copy_file(etcd_, copy, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(etcd_, other, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::create_directories(bin);
  std::ofstream(bin + "/timeout") << "#!/bin/sh\n"
                                     "for a; do case \"$a\" in $KTHW_SLOW) exit 124;; esac; done\n"
                                     "exec /usr/bin/timeout \"$@\"\n";
  std::filesystem::permissions(bin + "/timeout", std::filesystem::perms::owner_all);
  auto slow = [&](const std::string& pattern) {
    return "PATH=" + bin + ":$PATH; export PATH; KTHW_SLOW='" + pattern + "'; export KTHW_SLOW\n";
  };
  auto kept = [&] {
    return std::filesystem::exists(cache_)
               ? std::distance(std::filesystem::directory_iterator(cache_), {})
               : 0;
  };
  const std::vector<std::string> flags = {"name", "bogus-flag"};

  // --version times out: no version, no flag answered, nothing kept, and the next binary of the
  // same script is not run at all.
  auto r = probe({{copy, flags}, {other, flags}}, true, slow("--version"));
  EXPECT_EQ(r.binaryFlags.at(copy).version, "");
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty());
  EXPECT_EQ(r.binaryFlags.at(other).version, "") << "runs after a timeout are skipped";
  EXPECT_TRUE(r.binaryFlags.at(other).unknown.empty());
  EXPECT_EQ(kept(), 0) << "a list without its version is not kept";

  // --help times out: the version is known, the flags are not.
  r = probe({{copy, flags}}, true, slow("--help"));
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty());
  EXPECT_EQ(kept(), 0) << "a list without --help's flags is not kept";

  // One flag's parse times out: that flag is not an answer.
  r = probe({{copy, flags}}, true, slow("--bogus-flag="));
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty()) << "a check that timed out is not an answer";
  EXPECT_EQ(kept(), 0) << "a list with an unanswered flag is not kept";

  // With answers, the list is kept.
  r = probe({{copy, flags}}, true);
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  ASSERT_EQ(kept(), 1) << "the next pass, with answers, keeps it";
  const auto list = (*std::filesystem::directory_iterator(cache_)).path();
  std::stringstream before;
  before << std::ifstream(list).rdbuf();

  // A kept list stays as it was when a flag it lacks times out.
  r = probe({{copy, {"name", "other-bogus"}}}, true, slow("--other-bogus="));
  EXPECT_TRUE(r.binaryFlags.at(copy).unknown.empty());
  std::stringstream after;
  after << std::ifstream(list).rdbuf();
  EXPECT_EQ(after.str(), before.str());

  // A list of the format before this one (its key line without "f2:") is not read: it could hold
  // a timed-out answer as accepted.
  const std::string key = before.str().substr(0, before.str().find('\n'));
  ASSERT_TRUE(key.starts_with("f2:")) << key;
  std::ofstream(list) << key.substr(3) << "\nfrom the old cache\n--name\n--bogus-flag\n";
  r = probe({{copy, flags}}, false);
  EXPECT_EQ(r.binaryFlags.at(copy).version, "etcd Version: 3.6.15");
  EXPECT_EQ(r.binaryFlags.at(copy).unknown, std::vector<std::string>{"bogus-flag"});
  std::filesystem::remove(copy);
  std::filesystem::remove(other);
  std::filesystem::remove_all(bin);
}

TEST_F(BinaryFlagsTest, TheWriteCheckRefusesUnknownFlagsWithAClearMessage) {
  ExecResult bad = check({apiserver_, {"advertise-address", "kubelet-https"}});
  EXPECT_EQ(bad.exitStatus, 1);
  EXPECT_EQ(bad.out, "error: flag --kubelet-https not accepted by " + apiserver_ +
                         " (Kubernetes v1.36.3)\n");
  ExecResult good = check({apiserver_, {"advertise-address", "apiserver-count"}});
  EXPECT_EQ(good.exitStatus, 0) << good.out << good.err;
  ExecResult absent = check({cache_ + "/kube-apiserver", {"v"}});
  EXPECT_EQ(absent.exitStatus, 1);
  EXPECT_EQ(absent.out, "error: " + cache_ + "/kube-apiserver is not installed\n");
}

}  // namespace
}  // namespace kthw::runtime
