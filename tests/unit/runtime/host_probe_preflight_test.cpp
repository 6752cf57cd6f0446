// The probe's preflight facts: commands, port listeners, swap and the host's clock.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "../../support/loopback.h"
#include "runtime/host_probe.h"
#include "runtime/local_transport.h"

namespace kthw::runtime {
namespace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(HostProbePreflight, ScriptNamesListenerCommandsSwapAndClock) {
  testing::LoopbackListener held;  // close-on-exec: the probe shell does not hold it too
  ASSERT_NE(held.port(), 0);
  ProbeRequest req;
  req.addCommand("sh");
  req.addCommand("kthw-no-such-command");
  req.addPort(held.port());
  req.addPort(held.port());  // asked once
  req.swap = true;
  LocalTransport local;
  const int64_t before = nowNs();
  auto run = local.exec(probeScript(req), "", std::chrono::seconds(10));
  const int64_t after = nowNs();
  ASSERT_TRUE(run.ok());
  auto r = parseProbeOutput(run->out);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << run->out << run->err;
  EXPECT_TRUE(r->commands.at("sh"));
  EXPECT_FALSE(r->commands.at("kthw-no-such-command"));
  // This test needs ss (iproute2) on the machine: without it the listener cannot be named.
  ASSERT_TRUE(r->listenersKnown) << "ss (iproute2) is not installed on this machine";
  ASSERT_EQ(r->listeners.size(), 1u) << run->out;
  EXPECT_EQ(r->listeners[0].port, held.port());
  EXPECT_EQ(r->listeners[0].pid, std::to_string(::getpid()));
  EXPECT_EQ(r->listeners[0].process, "kthw_unit_tests");
  ASSERT_TRUE(r->swapOn.has_value()) << "/proc/swaps is not readable here";
  ASSERT_TRUE(r->hostClockNs.has_value());
  EXPECT_GE(*r->hostClockNs, before - 1'000'000'000);
  EXPECT_LE(*r->hostClockNs, after + 1'000'000'000);
  EXPECT_EQ(clockSkew(*r->hostClockNs, before, after).count(), 0);
}

// An ss that fails (too old for -H, or no netlink) leaves the listeners unknown, never empty.
TEST(HostProbePreflight, AFailingSsIsNotReadAsNothingListens) {
  char dir[] = "/tmp/kthw-preflight-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string ss = std::string(dir) + "/ss";
  {
    std::ofstream out(ss);
    out << "#!/bin/sh\necho 'ss: invalid option -- H' >&2\nexit 1\n";
  }
  ASSERT_EQ(::chmod(ss.c_str(), 0755), 0);
  ProbeRequest req;
  req.facts = false;
  req.addPort(2379);
  LocalTransport local;
  auto run = local.exec("PATH=" + std::string(dir) + ":$PATH\n" + probeScript(req), "",
                        std::chrono::seconds(10));
  ASSERT_TRUE(run.ok());
  auto r = parseProbeOutput(run->out);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << run->out;
  EXPECT_FALSE(r->listenersKnown) << run->out;
  EXPECT_TRUE(r->ssFailed) << run->out;
  EXPECT_FALSE(r->ssMissing);
  std::filesystem::remove_all(dir);
}

// An apply pass keeps each listener's socket inode, pid and the pid's start time in the listener
// cache; the next probe names a listener from it without ss. A socket the cache does not know,
// or an entry whose process is not the one cached, sends the probe to ss again.
TEST(HostProbePreflight, ListenerCacheNamesKnownSocketsAndFallsBackToSs) {
  char dir[] = "/tmp/kthw-listeners-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  {
    std::ofstream out(d + "/ss");
    out << "#!/bin/sh\necho 'ss: broken' >&2\nexit 1\n";
  }
  ASSERT_EQ(::chmod((d + "/ss").c_str(), 0755), 0);
  testing::LoopbackListener held;
  ASSERT_NE(held.port(), 0);
  ProbeRequest req;
  req.facts = false;
  req.addPort(held.port());
  req.hashCache = d + "/cache/probe-hashes";
  LocalTransport local;
  auto probe = [&](bool brokenSs) {
    auto run = local.exec((brokenSs ? "PATH=" + d + ":$PATH\n" : "") + probeScript(req), "",
                          std::chrono::seconds(10));
    EXPECT_TRUE(run.ok());
    auto r = parseProbeOutput(run.ok() ? run->out : "");
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProbeResult{};
  };
  // A read-only probe asks ss and writes nothing.
  ProbeResult r = probe(false);
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(d + "/cache/listeners"));
  EXPECT_TRUE(probe(true).ssFailed);
  req.updateHashCache = true;
  r = probe(false);
  ASSERT_EQ(r.listeners.size(), 1u);
  ASSERT_TRUE(std::filesystem::exists(d + "/cache/listeners"));
  // From the cache: ss is broken now, and the listener is still named.
  r = probe(true);
  ASSERT_TRUE(r.listenersKnown) << "the cache was not used";
  ASSERT_EQ(r.listeners.size(), 1u);
  EXPECT_EQ(r.listeners[0].port, held.port());
  EXPECT_EQ(r.listeners[0].pid, std::to_string(::getpid()));
  EXPECT_EQ(r.listeners[0].process, "kthw_unit_tests");
  // The cache is trusted only in the boot it was written in: its first line is the boot id.
  std::string boot;
  std::string line;
  {
    std::ifstream cache(d + "/cache/listeners");
    std::getline(cache, boot);
    std::getline(cache, line);
  }
  std::string thisBoot;
  std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), thisBoot);
  EXPECT_EQ(boot, "boot\t" + thisBoot);
  std::ofstream(d + "/cache/listeners") << "boot\t00000000-0000-0000-0000-000000000000\n"
                                        << line << "\n";
  EXPECT_TRUE(probe(true).ssFailed) << "a cache of another boot was trusted";
  std::ofstream(d + "/cache/listeners") << boot << "\n" << line << "\n";
  EXPECT_TRUE(probe(true).listenersKnown) << "the cache of this boot was not trusted";
  // A cached start time that is not the pid's: not trusted.
  std::ofstream(d + "/cache/listeners") << boot << "\n"
                                        << line.substr(0, line.rfind('\t')) << "\t1\n";
  EXPECT_TRUE(probe(true).ssFailed);
  // A socket the cache has not seen (a new inode, here on a second port asked) is not trusted.
  (void)probe(false);
  ASSERT_TRUE(probe(true).listenersKnown);
  testing::LoopbackListener other;
  req.addPort(other.port());
  EXPECT_TRUE(probe(true).ssFailed);
  r = probe(false);
  EXPECT_EQ(r.listeners.size(), 2u);
  EXPECT_EQ(probe(true).listeners.size(), 2u);
  std::filesystem::remove_all(d);
}

// No command name can change the script's structure: each is one quoted word.
TEST(HostProbePreflight, CommandNamesAreQuoted) {
  char dir[] = "/tmp/kthw-preflight-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string marker = std::string(dir) + "/pwned";
  ProbeRequest req;
  req.facts = false;
  const std::vector<std::string> hostile = {"x; touch " + marker, "$(touch " + marker + ")",
                                            "`touch " + marker + "`",
                                            "a'b; touch " + marker + "; '", "x\ntouch " + marker};
  for (const std::string& h : hostile) req.addCommand(h);
  LocalTransport local;
  auto run = local.exec(probeScript(req), "", std::chrono::seconds(10));
  ASSERT_TRUE(run.ok());
  EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "a command name ran as shell code";
  auto r = parseProbeOutput(run->out);
  ASSERT_TRUE(r.ok()) << run->out << run->err;
  // The names without a newline come back as asked, each missing.
  for (size_t i = 0; i + 1 < hostile.size(); ++i) {
    ASSERT_EQ(r->commands.count(hostile[i]), 1u) << hostile[i];
    EXPECT_FALSE(r->commands.at(hostile[i]));
  }
  (void)local.exec("rm -rf " + std::string(dir), "", std::chrono::seconds(5));
}

TEST(HostProbePreflight, ParsesPreflightRecords) {
  auto r = parseProbeOutput(
      "KTHW-PROBE 1\n"
      "CMD\tcurl\t1\n"
      "CMD\tetcd\t0\n"
      "SS\n"
      "P\t2379\t812\tpython3\tsession-3.scope\n"
      "P\t6443\t\t\t\n"
      "SWAP\t2\n"
      "T\t1764621900123456789\n"
      "END\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->commands.at("curl"));
  EXPECT_FALSE(r->commands.at("etcd"));
  EXPECT_TRUE(r->listenersKnown);
  ASSERT_EQ(r->listeners.size(), 2u);
  EXPECT_EQ(r->listeners[0].port, 2379);
  EXPECT_EQ(r->listeners[0].pid, "812");
  EXPECT_EQ(r->listeners[0].process, "python3");
  EXPECT_EQ(r->listeners[0].unit, "session-3.scope");
  EXPECT_EQ(r->listeners[1].pid, "");
  EXPECT_EQ(r->swapOn, std::optional<bool>(true));
  EXPECT_EQ(r->hostClockNs, std::optional<int64_t>(1764621900123456789));
}

// date without %N support prints seconds (GNU: digits, busybox: a literal N).
TEST(HostProbePreflight, ClockInSecondsOnly) {
  auto a = parseProbeOutput("KTHW-PROBE 1\nT\t1764621900N\nEND\n");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->hostClockNs, std::optional<int64_t>(1764621900LL * 1000000000));
  auto b = parseProbeOutput("KTHW-PROBE 1\nT\t1764621900\nSWAP\t0\nEND\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->hostClockNs, std::optional<int64_t>(1764621900LL * 1000000000));
  EXPECT_EQ(b->swapOn, std::optional<bool>(false));
}

TEST(HostProbePreflight, IgnoresMalformedPreflightRecords) {
  auto r = parseProbeOutput(
      "KTHW-PROBE 1\n"
      "P\t99999\t1\tx\ty\n"
      "P\t-1\t1\tx\ty\n"
      "P\tabc\t1\tx\ty\n"
      "P\t2379\n"
      "P\t2379\t1\tx\ty\tz\n"
      "SWAP\tmany\n"
      "SWAP\t\n"
      "T\t99999999999999999999999999\n"
      "T\t-5\n"
      "T\t12x\n"
      "CMD\tcurl\n"
      "CMD\n"
      "END\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->listeners.empty());
  EXPECT_FALSE(r->swapOn.has_value());
  EXPECT_FALSE(r->hostClockNs.has_value());
  EXPECT_TRUE(r->commands.empty());
  EXPECT_FALSE(r->listenersKnown);
}

// Whatever a host prints, the parser returns (ok or not) and never crashes or throws.
TEST(HostProbePreflight, SurvivesGarbage) {
  std::mt19937 rng(20);
  const std::vector<std::string> pieces = {"P",    "T",        "SWAP",
                                           "CMD",  "SS",       "U",
                                           "F",    "H",        "B",
                                           "b",    "S",        "S-",
                                           "L",    "FV",       "FX",
                                           "M",    "\t",       "\t\t",
                                           "\n",   "=",        "Id=",
                                           "2379", "-1",       "99999999999999999999",
                                           "",     "\xff\xfe", std::string(1, '\0'),
                                           "END"};
  size_t parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string out = i % 2 == 0 ? "KTHW-PROBE 1\n" : "";
    const int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) out += pieces[rng() % pieces.size()];
    if (i % 3 == 0) out += "\nEND\n";
    auto r = parseProbeOutput(out);
    parsed += r.ok() ? 1 : 0;
  }
  EXPECT_GT(parsed, 0u);  // some inputs are well-formed enough to parse
}

TEST(ClockSkew, WithinTheRoundTripIsZero) {
  const int64_t before = 1'764'621'900'000'000'000;
  const int64_t after = before + 400'000'000;  // 400 ms round trip
  EXPECT_EQ(clockSkew(before, before, after).count(), 0);
  EXPECT_EQ(clockSkew(after, before, after).count(), 0);
  EXPECT_EQ(clockSkew(before + 200'000'000, before, after).count(), 0);
}

TEST(ClockSkew, AheadAndBehindLessHalfTheRoundTrip) {
  const int64_t before = 1'764'621'900'000'000'000;
  const int64_t after = before + 400'000'000;
  const int64_t mid = before + 200'000'000;
  EXPECT_EQ(clockSkew(mid + 94'000'000'000, before, after).count(), 93'800);
  EXPECT_EQ(clockSkew(mid - 94'000'000'000, before, after).count(), -93'800);
  EXPECT_EQ(clockSkew(mid + 94'000'000'000, after, before).count(), 93'800);
}

}  // namespace
}  // namespace kthw::runtime
