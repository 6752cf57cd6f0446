#include "runtime/work_queue.h"

#include <algorithm>
#include <cmath>

namespace kthw::runtime {

WorkQueue::WorkQueue(const Clock& clock, BackoffPolicy backoff, ResyncPolicy resync, uint64_t seed)
    : clock_(clock), backoff_(backoff), resync_(resync), rng_(seed) {
  nextResync_ = clock_.now() + jittered(resync_.interval, 1 - resync_.jitter, 1 + resync_.jitter);
}

std::chrono::milliseconds WorkQueue::jittered(std::chrono::milliseconds d, double lo, double hi) {
  std::uniform_real_distribution<double> factor(lo, hi);
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(static_cast<double>(d.count()) * factor(rng_))));
}

std::chrono::milliseconds WorkQueue::backoffFor(int failures) const {
  if (failures <= 0) return std::chrono::milliseconds(0);
  // base * 2^(failures-1), computed without overflow: past 2^40 the cap has long been reached.
  const int shift = std::min(failures - 1, 40);
  const double d = static_cast<double>(backoff_.base.count()) * std::ldexp(1.0, shift);
  return d >= static_cast<double>(backoff_.cap.count())
             ? backoff_.cap
             : std::chrono::milliseconds(static_cast<int64_t>(d));
}

void WorkQueue::setKnownKeys(const std::set<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = failures_.begin(); it != failures_.end();) {
    it = keys.count(it->first) != 0 ? std::next(it) : failures_.erase(it);
  }
  for (auto it = terminal_.begin(); it != terminal_.end();) {
    it = keys.count(*it) != 0 ? std::next(it) : terminal_.erase(it);
  }
  for (auto it = queued_.begin(); it != queued_.end();) {
    it = keys.count(it->first) != 0 ? std::next(it) : queued_.erase(it);
  }
  known_ = keys;
}

void WorkQueue::addLocked(const std::string& key, Clock::time_point at) {
  if (processing_.count(key) != 0) {
    auto [it, inserted] = requeueAfterProcessing_.emplace(key, at);
    if (!inserted) it->second = std::min(it->second, at);
    return;
  }
  auto [it, inserted] = queued_.emplace(key, at);
  if (!inserted) it->second = std::min(it->second, at);
  cv_.notify_all();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  terminal_.erase(key);
  addLocked(key, clock_.now());
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  addLocked(key, clock_.now() + delay);
}

void WorkQueue::resyncIfDueLocked(Clock::time_point now) {
  if (now < nextResync_) return;
  // A resync re-diffs what is converged; keys backing off or terminal keep their schedule.
  for (const std::string& key : known_) {
    if (terminal_.count(key) == 0 && failures_.count(key) == 0) addLocked(key, now);
  }
  nextResync_ = now + jittered(resync_.interval, 1 - resync_.jitter, 1 + resync_.jitter);
}

std::vector<std::string> WorkQueue::takeReady(
    size_t max, const std::function<bool(const std::string&)>& accept) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_.now();
  resyncIfDueLocked(now);
  std::vector<std::string> out;
  for (auto it = queued_.begin(); it != queued_.end() && out.size() < max;) {
    if (it->second <= now && (!accept || accept(it->first))) {
      out.push_back(it->first);
      processing_.insert(it->first);
      it = queued_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<std::string> WorkQueue::take(size_t max,
                                         const std::function<bool(const std::string&)>& accept) {
  while (true) {
    auto ready = takeReady(max, accept);
    if (!ready.empty()) return ready;
    std::unique_lock<std::mutex> lock(mu_);
    if (shutDown_) return {};
    // Sleep until the earliest queued key or the resync is due; a steady-clock wait, so the
    // wake-up is bounded even under an injected clock (tests poke after moving it).
    auto wake = nextResync_;
    for (const auto& [key, at] : queued_) wake = std::min(wake, at);
    const auto wait = std::clamp(
        wake - clock_.now(), Clock::time_point::duration::zero(),
        std::chrono::duration_cast<Clock::time_point::duration>(std::chrono::seconds(1)));
    cv_.wait_for(lock, wait);
    if (shutDown_) return {};
  }
}

std::optional<std::chrono::milliseconds> WorkQueue::done(const std::string& key,
                                                         WorkResult result) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  std::optional<std::chrono::milliseconds> delay;
  switch (result) {
    case WorkResult::kSuccess:
      failures_.erase(key);
      terminal_.erase(key);
      break;
    case WorkResult::kTerminal:
      failures_.erase(key);
      terminal_.insert(key);
      break;
    case WorkResult::kRetry: {
      const int n = ++failures_[key];
      delay = jittered(backoffFor(n), 1 - backoff_.jitter, 1.0);
      addLocked(key, clock_.now() + *delay);
      break;
    }
  }
  if (auto it = requeueAfterProcessing_.find(key); it != requeueAfterProcessing_.end()) {
    // Added while it ran: the desired state or a watch changed under it, so it runs again.
    if (result != WorkResult::kTerminal || it->second <= clock_.now()) {
      terminal_.erase(key);
      addLocked(key, it->second);
      delay = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(it->second - clock_.now(), Clock::time_point::duration::zero()));
    }
    requeueAfterProcessing_.erase(it);
  }
  cv_.notify_all();
  return delay;
}

void WorkQueue::shutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutDown_ = true;
  cv_.notify_all();
}

void WorkQueue::poke() {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

size_t WorkQueue::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queued_.size() + requeueAfterProcessing_.size();
}

size_t WorkQueue::processing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return processing_.size();
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

bool WorkQueue::terminal(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return terminal_.count(key) != 0;
}

std::optional<Clock::time_point> WorkQueue::readyAt(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = queued_.find(key); it != queued_.end()) return it->second;
  if (auto it = requeueAfterProcessing_.find(key); it != requeueAfterProcessing_.end())
    return it->second;
  return std::nullopt;
}

Clock::time_point WorkQueue::nextResync() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nextResync_;
}

}  // namespace kthw::runtime
