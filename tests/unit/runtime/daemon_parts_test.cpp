// The daemon's parts that talk to the system: the metrics text, the HTTP endpoint, the inotify
// watch and systemd's notify socket, each against the real kernel facility on this machine.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "runtime/dir_watch.h"
#include "runtime/http_server.h"
#include "runtime/metrics.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

TEST(Metrics, RendersTheTextExpositionFormat) {
  Metrics m;
  m.declare("kthw_reconcile_total", Metrics::Type::kCounter, "Reconciles.");
  m.declare("kthw_reconcile_duration_seconds", Metrics::Type::kHistogram, "Durations.",
            {0.1, 1, 10});
  m.declare("kthw_drift_changes", Metrics::Type::kGauge, "Drift.");
  m.add("kthw_reconcile_total", {{"kind", "Host"}, {"result", "success"}});
  m.add("kthw_reconcile_total", {{"kind", "Host"}, {"result", "success"}}, 2);
  m.observe("kthw_reconcile_duration_seconds", {{"kind", "Host"}}, 0.05);
  m.observe("kthw_reconcile_duration_seconds", {{"kind", "Host"}}, 0.5);
  m.observe("kthw_reconcile_duration_seconds", {{"kind", "Host"}}, 50);
  m.set("kthw_drift_changes", {{"name", "a\"b\\c\nd"}}, 4);
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE kthw_reconcile_total counter\n"
                      "kthw_reconcile_total{kind=\"Host\",result=\"success\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "# TYPE kthw_reconcile_duration_seconds histogram\n"
          "kthw_reconcile_duration_seconds_bucket{kind=\"Host\",le=\"0.10000000000000001\"} 1\n"
          "kthw_reconcile_duration_seconds_bucket{kind=\"Host\",le=\"1\"} 2\n"
          "kthw_reconcile_duration_seconds_bucket{kind=\"Host\",le=\"10\"} 2\n"
          "kthw_reconcile_duration_seconds_bucket{kind=\"Host\",le=\"+Inf\"} 3\n"
          "kthw_reconcile_duration_seconds_sum{kind=\"Host\"} 50.549999999999997\n"
          "kthw_reconcile_duration_seconds_count{kind=\"Host\"} 3\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("kthw_drift_changes{name=\"a\\\"b\\\\c\\nd\"} 4\n"), std::string::npos)
      << text;
  m.reset("kthw_drift_changes");
  EXPECT_EQ(m.render().find("kthw_drift_changes{"), std::string::npos);
  EXPECT_THROW(m.add("undeclared", {}), std::logic_error);
}

bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) == 1;
}

TEST(DirWatch, SeesEditsNewDirectoriesAndCommitsButNotSwapFiles) {
  const fs::path dir = fs::temp_directory_path() / ("kthw-watch-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / ".git");
  std::ofstream(dir / "hosts.yaml") << "a: 1\n";
  auto watch = DirWatch::open({dir.string()});
  ASSERT_TRUE(watch.ok()) << watch.status().message();
  EXPECT_FALSE(readable(watch->fd(), 50));

  std::ofstream(dir / ".hosts.yaml.swp") << "x";
  ASSERT_TRUE(readable(watch->fd(), 2000));
  EXPECT_FALSE(watch->drain()) << "an editor's swap file is not a change";

  std::ofstream(dir / "hosts.yaml") << "a: 2\n";
  ASSERT_TRUE(readable(watch->fd(), 2000));
  EXPECT_TRUE(watch->drain());

  fs::create_directories(dir / "more");
  ASSERT_TRUE(readable(watch->fd(), 2000));
  EXPECT_TRUE(watch->drain());
  std::ofstream(dir / "more" / "x.yaml") << "b: 1\n";
  ASSERT_TRUE(readable(watch->fd(), 2000)) << "a new directory is watched too";
  EXPECT_TRUE(watch->drain());

  std::ofstream(dir / ".git" / "COMMIT_EDITMSG") << "msg\n";
  ASSERT_TRUE(readable(watch->fd(), 2000));
  EXPECT_TRUE(watch->drain()) << "a commit is a change of revision";
  std::ofstream(dir / ".git" / "description") << "x\n";
  ASSERT_TRUE(readable(watch->fd(), 2000));
  EXPECT_FALSE(watch->drain());
  fs::remove_all(dir);
}

TEST(SdNotify, SendsToTheNotifySocket) {
  const std::string path =
      (fs::temp_directory_path() / ("kthw-notify-" + std::to_string(::getpid()))).string();
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  sdNotify("READY=1\nSTATUS=reconciling");
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(readable(fd, 2000));
  char buf[256] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "READY=1\nSTATUS=reconciling");
  sdNotify("READY=1");  // without NOTIFY_SOCKET: nothing sent
  EXPECT_FALSE(readable(fd, 100));
  ::close(fd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace kthw::runtime
