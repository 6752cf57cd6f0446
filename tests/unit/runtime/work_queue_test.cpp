#include "runtime/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "../../support/manual_clock.h"

namespace kthw::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::ManualClock;

BackoffPolicy backoff() { return {milliseconds(1000), milliseconds(60000), 0.2}; }
ResyncPolicy resync() { return {milliseconds(180000), 0.1}; }

TEST(WorkQueue, DuplicateKeysMerge) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 1);
  q.add("Host/a");
  q.add("Host/a");
  q.add("Host/b");
  EXPECT_EQ(q.depth(), 2u);
  EXPECT_EQ(q.takeReady(10), (std::vector<std::string>{"Host/a", "Host/b"}));
  EXPECT_EQ(q.depth(), 0u);
}

TEST(WorkQueue, AKeyHeldByAWorkerIsNotHandedOutAgainUntilDone) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 1);
  q.add("Host/a");
  ASSERT_EQ(q.takeReady(10).size(), 1u);
  q.add("Host/a");  // changed while it runs
  EXPECT_TRUE(q.takeReady(10).empty());
  EXPECT_EQ(q.depth(), 1u);
  q.done("Host/a", WorkResult::kSuccess);
  EXPECT_EQ(q.takeReady(10), std::vector<std::string>{"Host/a"});
}

TEST(WorkQueue, BackoffGrowsCapsAndCarriesJitter) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 7);
  EXPECT_EQ(q.backoffFor(1), milliseconds(1000));
  EXPECT_EQ(q.backoffFor(2), milliseconds(2000));
  EXPECT_EQ(q.backoffFor(5), milliseconds(16000));
  EXPECT_EQ(q.backoffFor(7), milliseconds(60000));
  EXPECT_EQ(q.backoffFor(1000), milliseconds(60000));

  std::vector<milliseconds> delays;
  q.add("Service/etcd");
  for (int attempt = 1; attempt <= 12; ++attempt) {
    ASSERT_EQ(q.takeReady(1).size(), 1u);
    auto delay = q.done("Service/etcd", WorkResult::kRetry);
    ASSERT_TRUE(delay.has_value());
    EXPECT_EQ(q.failures("Service/etcd"), attempt);
    const milliseconds nominal = q.backoffFor(attempt);
    EXPECT_LE(*delay, nominal);
    EXPECT_GE(delay->count(), static_cast<int64_t>(nominal.count() * 0.8) - 1);
    delays.push_back(*delay);
    // Not ready a moment before its delay ends, ready when it does.
    clock.advance(*delay - milliseconds(1));
    EXPECT_TRUE(q.takeReady(1).empty());
    clock.advance(milliseconds(1));
  }
  // Jitter: equal nominal delays (the capped tail) did not all come out equal.
  std::set<int64_t> capped;
  for (size_t i = 6; i < delays.size(); ++i) capped.insert(delays[i].count());
  EXPECT_GT(capped.size(), 1u);
  // Growth: each uncapped delay is longer than the one before.
  for (size_t i = 1; i < 6; ++i) EXPECT_GT(delays[i], delays[i - 1]) << i;
}

TEST(WorkQueue, SuccessResetsTheBackoff) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 3);
  for (int i = 0; i < 4; ++i) {
    q.add("LoadBalancer/lb");
    clock.advance(seconds(100));
    ASSERT_EQ(q.takeReady(1).size(), 1u);
    q.done("LoadBalancer/lb", WorkResult::kRetry);
  }
  EXPECT_EQ(q.failures("LoadBalancer/lb"), 4);
  clock.advance(seconds(100));
  ASSERT_EQ(q.takeReady(1).size(), 1u);
  EXPECT_FALSE(q.done("LoadBalancer/lb", WorkResult::kSuccess).has_value());
  EXPECT_EQ(q.failures("LoadBalancer/lb"), 0);
  EXPECT_EQ(q.depth(), 0u);
  q.add("LoadBalancer/lb");
  ASSERT_EQ(q.takeReady(1).size(), 1u);
  auto delay = q.done("LoadBalancer/lb", WorkResult::kRetry);
  ASSERT_TRUE(delay.has_value());
  EXPECT_LE(*delay, milliseconds(1000));
}

TEST(WorkQueue, TerminalErrorsAreNotRetriedButStayVisible) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 5);
  q.setKnownKeys({"CertificateBundle/pki"});
  q.add("CertificateBundle/pki");
  ASSERT_EQ(q.takeReady(1).size(), 1u);
  EXPECT_FALSE(q.done("CertificateBundle/pki", WorkResult::kTerminal).has_value());
  EXPECT_TRUE(q.terminal("CertificateBundle/pki"));
  // Not by time, and not by the periodic resync.
  clock.advance(std::chrono::hours(24));
  EXPECT_TRUE(q.takeReady(10).empty());
  EXPECT_TRUE(q.terminal("CertificateBundle/pki"));
  // A new desired state adds it again: it runs, and the terminal mark goes.
  q.add("CertificateBundle/pki");
  EXPECT_FALSE(q.terminal("CertificateBundle/pki"));
  EXPECT_EQ(q.takeReady(10).size(), 1u);
}

TEST(WorkQueue, ResyncQueuesEveryKnownKeyOnAJitteredInterval) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 11);
  q.setKnownKeys({"Host/a", "Host/b", "ClusterRole/r"});
  std::set<int64_t> intervals;
  for (int round = 0; round < 5; ++round) {
    const auto start = clock.now();
    const auto due = q.nextResync();
    const auto interval = std::chrono::duration_cast<milliseconds>(due - start);
    EXPECT_GE(interval, milliseconds(162000));
    EXPECT_LE(interval, milliseconds(198000));
    intervals.insert(interval.count());
    clock.advance(due - start - milliseconds(1));
    EXPECT_TRUE(q.takeReady(10).empty()) << "resync fired early";
    clock.advance(milliseconds(1));
    auto keys = q.takeReady(10);
    EXPECT_EQ(keys, (std::vector<std::string>{"ClusterRole/r", "Host/a", "Host/b"}));
    for (const auto& k : keys) q.done(k, WorkResult::kSuccess);
  }
  EXPECT_GT(intervals.size(), 1u) << "resync interval carries no jitter";
}

TEST(WorkQueue, ResyncLeavesBackingOffKeysOnTheirSchedule) {
  ManualClock clock;
  WorkQueue q(clock, {milliseconds(1000), milliseconds(600000), 0.0}, resync(), 2);
  q.setKnownKeys({"Host/a", "Host/b"});
  for (int i = 0; i < 9; ++i) {  // 256 s after the ninth failure
    q.add("Host/a");
    ASSERT_EQ(q.takeReady(10, [](const std::string& k) { return k == "Host/a"; }).size(), 1u);
    q.done("Host/a", WorkResult::kRetry);
  }
  clock.advance(seconds(200));
  EXPECT_EQ(q.takeReady(10), std::vector<std::string>{"Host/b"});
}

TEST(WorkQueue, AcceptLeavesOtherKeysQueued) {
  ManualClock clock;
  WorkQueue q(clock, backoff(), resync(), 1);
  q.add("Host/a");
  q.add("ClusterRole/r");
  auto api = q.takeReady(10, [](const std::string& k) { return k.starts_with("ClusterRole"); });
  EXPECT_EQ(api, std::vector<std::string>{"ClusterRole/r"});
  EXPECT_EQ(q.depth(), 1u);
}

TEST(WorkQueue, OneKeyNeverRunsInTwoWorkersAtOnce) {
  SteadyClock clock;
  WorkQueue q(clock, {milliseconds(1), milliseconds(2), 0.5}, resync(), 9);
  const std::vector<std::string> keys = {"Host/a", "Host/b", "Host/c"};
  std::map<std::string, std::atomic<int>> running;
  for (const auto& k : keys) running[k] = 0;
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      while (true) {
        auto batch = q.take(1);
        if (batch.empty()) return;
        for (const auto& k : batch) {
          if (running[k].fetch_add(1) != 0) ++overlaps;
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          running[k].fetch_sub(1);
          ++processed;
          q.done(k, (processed + w) % 3 == 0 ? WorkResult::kRetry : WorkResult::kSuccess);
        }
      }
    });
  }
  std::thread producer([&] {
    for (size_t i = 0; !stop; ++i) {
      q.add(keys[i % keys.size()]);
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  while (processed < 300) std::this_thread::sleep_for(milliseconds(5));
  stop = true;
  producer.join();
  q.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), 300);
}

}  // namespace
}  // namespace kthw::runtime
