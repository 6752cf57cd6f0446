#include "runtime/host_probe.h"

#include <gtest/gtest.h>

#include "../../support/loopback.h"
#include "runtime/binary_flags_cache.h"
#include "runtime/digest.h"
#include "runtime/host_files.h"
#include "runtime/local_transport.h"

namespace kthw::runtime {
namespace {

TEST(HostProbe, ParsesEveryRecordType) {
  const std::string out =
      "KTHW-PROBE 1\n"
      "F\t/etc/hosts\tregular file\t644\troot\troot\t123\n"
      "F\t/var/lib/k\tdirectory\t700\troot\tadm\t4096\n"
      "H\t0123abcd\t/etc/hosts\n"
      "SYSTEMD\n"
      "U\tId=etcd.service\n"
      "U\tLoadState=loaded\n"
      "U\tActiveState=active\n"
      "U\tUnitFileState=enabled\n"
      "U\t\n"
      "U\tId=nope.service\n"
      "U\tLoadState=not-found\n"
      "B\t/etc/hosts\n"
      "b\t# BEGIN kthw managed block\n"
      "b\t10.0.1.20 a\n"
      "b\t# END kthw managed block\n"
      "S\tnet.ipv4.ip_forward\t1\n"
      "S-\tnet.bridge.x\n"
      "M\toverlay\t1\n"
      "M\tbr_netfilter\t0\n"
      "O\tDebian GNU/Linux 12 (bookworm)\n"
      "K\t6.1.0\n"
      "END\n";
  auto r = parseProbeOutput(out);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->file("/etc/hosts").type, FileType::kFile);
  EXPECT_EQ(r->file("/etc/hosts").mode, 0644u);
  EXPECT_EQ(r->file("/etc/hosts").sha256, "0123abcd");
  EXPECT_EQ(r->file("/var/lib/k").type, FileType::kDirectory);
  EXPECT_EQ(r->file("/var/lib/k").group, "adm");
  EXPECT_EQ(r->file("/absent").type, FileType::kAbsent);
  EXPECT_TRUE(r->systemctlAvailable);
  EXPECT_EQ(r->units.at("etcd.service").activeState, "active");
  EXPECT_EQ(r->units.at("nope.service").loadState, "not-found");
  EXPECT_EQ(*r->blocks.at("/etc/hosts"),
            "# BEGIN kthw managed block\n10.0.1.20 a\n# END kthw managed block\n");
  EXPECT_EQ(*r->sysctls.at("net.ipv4.ip_forward"), "1");
  EXPECT_FALSE(r->sysctls.at("net.bridge.x").has_value());
  EXPECT_TRUE(r->modules.at("overlay"));
  EXPECT_FALSE(r->modules.at("br_netfilter"));
  EXPECT_EQ(r->osRelease, "Debian GNU/Linux 12 (bookworm)");
}

TEST(HostProbe, RejectsOutputThatIsCutShort) {
  EXPECT_FALSE(parseProbeOutput("KTHW-PROBE 1\nF\t/a\tdirectory\t755\troot\troot\t1\n").ok());
  EXPECT_FALSE(parseProbeOutput("sh: 1: syntax error\n").ok());
}

// The probe script itself, run by /bin/sh on this machine against files of a temp directory.
TEST(HostProbe, ScriptRunsUnderPosixShell) {
  char dir[] = "/tmp/kthw-probe-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  LocalTransport local;
  ASSERT_TRUE(local
                  .exec("printf 'x\\n# BEGIN kthw managed block\\n1.2.3.4 a\\n# END kthw managed "
                        "block\\n' > " +
                            d + "/hosts; chmod 640 " + d + "/hosts; mkdir " + d + "/sub",
                        "", std::chrono::seconds(5))
                  .ok());
  ProbeRequest req;
  req.addPath(d + "/hosts");
  req.addPath(d + "/sub");
  req.addPath(d + "/absent file");
  req.blocks.push_back(d + "/hosts");
  req.sysctls.push_back("kernel.ostype");
  req.sysctls.push_back("kthw.no.such.key");
  auto run = local.exec(probeScript(req), "", std::chrono::seconds(10));
  ASSERT_TRUE(run.ok());
  auto r = parseProbeOutput(run->out);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << run->out << run->err;
  EXPECT_EQ(r->file(d + "/hosts").mode, 0640u);
  EXPECT_EQ(r->file(d + "/hosts").sha256.size(), 64u);
  EXPECT_EQ(r->file(d + "/sub").type, FileType::kDirectory);
  EXPECT_EQ(r->file(d + "/absent file").type, FileType::kAbsent);
  EXPECT_EQ(*r->blocks.at(d + "/hosts"),
            "# BEGIN kthw managed block\n1.2.3.4 a\n# END kthw managed block\n");
  EXPECT_EQ(*r->sysctls.at("kernel.ostype"), "Linux");
  EXPECT_FALSE(r->sysctls.at("kthw.no.such.key").has_value());
  (void)local.exec("rm -rf " + d, "", std::chrono::seconds(5));
}

// A file asked for with its expected sha256 is sent only when it differs, whole, and the record
// after it still parses (the file has no final newline).
TEST(HostProbe, ReturnsContentOnlyWhenTheHashDiffers) {
  char dir[] = "/tmp/kthw-probe-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  LocalTransport local;
  ASSERT_TRUE(local
                  .exec("printf 'a: 1\\n\\tsecret: x' > " + d + "/differs; printf 'same\\n' > " +
                            d + "/same",
                        "", std::chrono::seconds(5))
                  .ok());
  ProbeRequest req;
  req.contentsUnlessSha256 = {{d + "/differs", sha256Hex("other")},
                              {d + "/same", sha256Hex("same\n")},
                              {d + "/absent", sha256Hex("")}};
  req.sysctls.push_back("kernel.ostype");
  auto run = local.exec(probeScript(req), "", std::chrono::seconds(10));
  ASSERT_TRUE(run.ok());
  auto r = parseProbeOutput(run->out);
  ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << run->out << run->err;
  EXPECT_EQ(r->contents,
            (std::map<std::string, std::string>{{d + "/differs", "a: 1\n\tsecret: x\n"}}));
  EXPECT_EQ(*r->sysctls.at("kernel.ostype"), "Linux");
  (void)local.exec("rm -rf " + d, "", std::chrono::seconds(5));
}

// The hash cache is keyed by inode, size, mtime and ctime: an unchanged file is not read again,
// a rewritten one is, and a read-only pass never writes the cache.
TEST(HostProbe, HashCacheSkipsUnchangedFilesAndCatchesWrites) {
  char dir[] = "/tmp/kthw-hashcache-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  LocalTransport local;
  auto sh = [&](const std::string& script) {
    auto r = local.exec(script, "", std::chrono::seconds(10));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : std::string();
  };
  sh("printf 'one' > " + d + "/a; printf 'two' > " + d + "/b");
  ProbeRequest req;
  req.addPath(d + "/a");
  req.addPath(d + "/b");
  req.hashCache = d + "/cache/hashes";
  req.facts = false;
  auto probe = [&](bool update) {
    req.updateHashCache = update;
    auto r = parseProbeOutput(sh(probeScript(req)));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProbeResult{};
  };
  const ProbeResult first = probe(true);
  EXPECT_EQ(first.file(d + "/a").sha256, sha256Hex("one"));
  EXPECT_EQ(sh("wc -l < " + d + "/cache/hashes"), "2\n");
  EXPECT_EQ(sh("stat -c %a " + d + "/cache/hashes"), "600\n");
  // Poison the cached hash of b: a probe that trusts the cache reports it.
  sh("sed -i 's/" + sha256Hex("two") + "/" + std::string(64, 'f') + "/' " + d + "/cache/hashes");
  EXPECT_EQ(probe(false).file(d + "/b").sha256, std::string(64, 'f'));
  // A write moves mtime and ctime: the file is read again.
  sh("sleep 0.01; printf 'TWO' > " + d + "/b");
  EXPECT_EQ(probe(false).file(d + "/b").sha256, sha256Hex("TWO"));
  EXPECT_NE(sh("cat " + d + "/cache/hashes").find(std::string(64, 'f')), std::string::npos)
      << "a read-only probe rewrote the cache";
  sh("rm -rf " + d);
}

// An apply pass that finds every file as the cache has it leaves the cache file alone (the
// daemon probes every few seconds); one that finds a change rewrites it. The content of a file
// among the paths is returned from the hash the file records found, cached or not, so that a
// rewrite behind the cache's back (new ctime) is still seen.
TEST(HostProbe, HashCacheIsRewrittenOnlyWhenItChanges) {
  char dir[] = "/tmp/kthw-hashcache-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  LocalTransport local;
  auto sh = [&](const std::string& script) {
    auto r = local.exec(script, "", std::chrono::seconds(10));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->out : std::string();
  };
  sh("printf 'one\\n' > " + d + "/a; printf 'two' > " + d + "/b; ln -s a " + d + "/link");
  ProbeRequest req;
  req.addPath(d + "/a");
  req.addPath(d + "/b");
  req.addPath(d + "/link");
  req.hashCache = d + "/cache/hashes";
  req.facts = false;
  req.updateHashCache = true;
  req.contentsUnlessSha256 = {{d + "/a", sha256Hex("one\n")},
                              {d + "/b", sha256Hex("two")},
                              {d + "/link", sha256Hex("other")}};
  auto probe = [&] {
    auto r = parseProbeOutput(sh(probeScript(req)));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : ProbeResult{};
  };
  auto cacheId = [&] { return sh("stat -c '%i %Y %Z' " + d + "/cache/hashes"); };
  ProbeResult r = probe();
  EXPECT_EQ(r.file(d + "/b").sha256, sha256Hex("two"));
  // The symlink is no regular file of the records: its target's content is compared as before.
  EXPECT_EQ(r.contents, (std::map<std::string, std::string>{{d + "/link", "one\n"}}));
  EXPECT_EQ(sh("wc -l < " + d + "/cache/hashes"), "2\n");
  EXPECT_EQ(sh("stat -c %a " + d + "/cache/hashes"), "600\n");
  const std::string before = cacheId();
  sh("sleep 0.01");
  r = probe();
  EXPECT_EQ(r.file(d + "/a").sha256, sha256Hex("one\n"));
  EXPECT_EQ(cacheId(), before) << "an unchanged host rewrote the cache";
  // b rewritten: its content comes back, and the cache learns its new hash.
  sh("printf 'TWO\\nlines' > " + d + "/b");
  r = probe();
  EXPECT_EQ(r.file(d + "/b").sha256, sha256Hex("TWO\nlines"));
  EXPECT_EQ(r.contents.at(d + "/b"), "TWO\nlines\n");
  EXPECT_NE(cacheId(), before);
  EXPECT_NE(sh("cat " + d + "/cache/hashes").find(sha256Hex("TWO\nlines")), std::string::npos);
  sh("rm -rf " + d);
}

// awk reads only regular files: a directory where a managed-block file or a cache should be would
// abort the whole awk (a read error), and a FIFO would block it, losing every record after it. The
// probe still reports the listeners and sysctls, and says the odd paths hold no block.
TEST(HostProbe, ADirectoryOrFifoWhereAFileShouldBeLosesNothing) {
  char dir[] = "/tmp/kthw-probe-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string d = dir;
  LocalTransport local;
  ASSERT_TRUE(local
                  .exec("mkdir -p " + d + "/hosts " + d + "/cache/hashes " + d +
                            "/cache/listeners " + d + "/bin && mkfifo " + d + "/fifo && cp " +
                            "/bin/true " + d + "/bin/among && cp /bin/true " + d +
                            "/bin/other && mkdir -p " +
                            flagCacheFile(d + "/bin/among", d + "/cache/flags") + " && mkfifo " +
                            flagCacheFile(d + "/bin/other", d + "/cache/flags"),
                        "", std::chrono::seconds(5))
                  .ok());
  testing::LoopbackListener held;
  ASSERT_NE(held.port(), 0);
  ProbeRequest req;
  req.addPath(d + "/hosts");
  req.addPath(d + "/fifo");
  req.blocks = {d + "/hosts", d + "/fifo"};
  req.addPort(held.port());
  req.sysctls.push_back("kernel.ostype");
  req.hashCache = d + "/cache/hashes";
  // Flag checks whose flag-list caches are a directory (a binary among the paths: the file awk)
  // and a FIFO (one that is not: the flag probe's own awk and kthw_flags).
  req.addPath(d + "/bin/among");
  req.flagChecks = {{d + "/bin/among", {"help"}}, {d + "/bin/other", {"version"}}};
  for (bool update : {false, true}) {
    req.updateHashCache = update;
    auto run = local.exec(probeScript(req), "", std::chrono::seconds(10));
    ASSERT_TRUE(run.ok()) << run.status().message();
    EXPECT_EQ(run->err.find("read error"), std::string::npos) << run->err;
    auto r = parseProbeOutput(run->out);
    ASSERT_TRUE(r.ok()) << r.status().message() << "\n" << run->out << run->err;
    EXPECT_EQ(r->file(d + "/hosts").type, FileType::kDirectory);
    EXPECT_FALSE(r->blocks.at(d + "/hosts").has_value());
    EXPECT_FALSE(r->blocks.at(d + "/fifo").has_value());
    EXPECT_TRUE(r->listenersKnown) << run->out;
    ASSERT_EQ(r->listeners.size(), 1u) << run->out;
    EXPECT_EQ(r->listeners[0].port, held.port());
    EXPECT_EQ(*r->sysctls.at("kernel.ostype"), "Linux");
    EXPECT_EQ(r->binaryFlags.count(d + "/bin/among"), 1u) << run->out;
    EXPECT_EQ(r->binaryFlags.count(d + "/bin/other"), 1u) << run->out;
  }
  (void)local.exec("rm -rf " + d, "", std::chrono::seconds(5));
}

// Unit states come as systemctl prints them, between SYSTEMD and SYSTEMD-END.
TEST(HostProbe, ParsesTheSystemdSection) {
  auto r = parseProbeOutput(
      "KTHW-PROBE 1\nSYSTEMD\nId=a.service\nLoadState=loaded\nActiveState=active\n\n"
      "Id=b.service\nLoadState=not-found\n\nSYSTEMD-END\nS\tk\tv\nEND\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->systemctlAvailable);
  EXPECT_EQ(r->units.at("a.service").activeState, "active");
  EXPECT_EQ(r->units.at("b.service").loadState, "not-found");
  EXPECT_EQ(*r->sysctls.at("k"), "v");
}

TEST(HostProbe, FetchFramesContentsByLength) {
  auto r = parseFetchOutput("C\t5\t/a\nx\ny\nzC\t0\t/b\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("/a"), "x\ny\nz");
  EXPECT_EQ(r->at("/b"), "");
  EXPECT_FALSE(parseFetchOutput("C\t50\t/a\nshort").ok());
}

TEST(LocalTransport, ReportsExitStatusStderrAndTimeout) {
  LocalTransport local;
  auto r = local.exec("cat; echo oops >&2; exit 3", "in", std::chrono::seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "in");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exitStatus, 3);
  auto slow = local.exec("sleep 5", "", std::chrono::seconds(1));
  EXPECT_EQ(slow.status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace kthw::runtime
