#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "runtime/clock.h"

namespace kthw::runtime {

struct BackoffPolicy {
  std::chrono::milliseconds base{1000};   // delay after the first failure
  std::chrono::milliseconds cap{300000};  // never longer than this
  double jitter = 0.2;                    // delays are spread over [d*(1-jitter), d]
};

struct ResyncPolicy {
  std::chrono::milliseconds interval{180000};  // every key is queued again this often
  double jitter = 0.1;                         // spread over [i*(1-jitter), i*(1+jitter)]
};

// How processing a key ended.
enum class WorkResult {
  kSuccess,   // resets the key's backoff
  kRetry,     // queued again after the key's next backoff delay
  kTerminal,  // not retried (invalid spec); stays visible until the key is added again
};

// A work queue keyed by resource ("Kind/name"), as client-go's rate-limited workqueue:
// - adding a key that is already queued merges (the earlier ready time wins);
// - a key is handed to one worker at a time; a key added while it is being processed is queued
//   again when that worker is done;
// - failures back off exponentially per key, with jitter and a cap; success resets the backoff;
// - every `resync.interval` (with jitter) every known key is queued again.
// Thread-safe; `take` blocks until keys are ready or the queue is shut down.
class WorkQueue {
 public:
  WorkQueue(const Clock& clock, BackoffPolicy backoff, ResyncPolicy resync, uint64_t seed);

  // The keys the periodic resync queues (the resources of the current desired state). Keys not in
  // the set lose their backoff and terminal state.
  void setKnownKeys(const std::set<std::string>& keys);
  // Queues a key now (clears a terminal state: the spec may have been fixed).
  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // Non-blocking: up to `max` ready keys that no worker holds, which the caller now holds.
  // `accept` may leave keys where they are (a worker that only handles some kinds).
  std::vector<std::string> takeReady(size_t max,
                                     const std::function<bool(const std::string&)>& accept = {});
  // Blocks until keys are ready (returns them, held) or the queue is shut down (returns empty).
  std::vector<std::string> take(size_t max,
                                const std::function<bool(const std::string&)>& accept = {});
  // Releases a held key with its result; returns the delay before it runs again, if queued.
  std::optional<std::chrono::milliseconds> done(const std::string& key, WorkResult result);
  // Wakes every blocked `take`, which then return empty.
  void shutDown();
  // Wakes blocked `take`s to look again (after the clock moved, in tests).
  void poke();

  size_t depth() const;  // keys queued (ready or waiting for their time)
  size_t processing() const;
  int failures(const std::string& key) const;
  bool terminal(const std::string& key) const;
  std::optional<Clock::time_point> readyAt(const std::string& key) const;
  Clock::time_point nextResync() const;
  // The delay the n-th consecutive failure gets before jitter (n >= 1).
  std::chrono::milliseconds backoffFor(int failures) const;

 private:
  void addLocked(const std::string& key, Clock::time_point at);
  void resyncIfDueLocked(Clock::time_point now);
  std::chrono::milliseconds jittered(std::chrono::milliseconds d, double lo, double hi);

  const Clock& clock_;
  const BackoffPolicy backoff_;
  const ResyncPolicy resync_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::mt19937_64 rng_;
  std::set<std::string> known_;
  std::map<std::string, Clock::time_point> queued_;
  std::set<std::string> processing_;
  std::map<std::string, Clock::time_point> requeueAfterProcessing_;
  std::map<std::string, int> failures_;
  std::set<std::string> terminal_;
  Clock::time_point nextResync_;
  bool shutDown_ = false;
};

}  // namespace kthw::runtime
