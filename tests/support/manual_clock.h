// A runtime::Clock that tests move by hand: sleepFor advances it at once and records the wait, so
// a wait of minutes runs in no time and ends exactly where its deadline says. Thread-safe (a
// host pass waits on several threads).
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "runtime/clock.h"

namespace kthw::testing {

class ManualClock : public runtime::Clock {
 public:
  time_point now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void sleepFor(std::chrono::milliseconds d) const override {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
    sleeps_.push_back(d);
  }
  void advance(time_point::duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  // Every wait so far, in order.
  std::vector<std::chrono::milliseconds> sleeps() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sleeps_;
  }
  // The time since the clock was made.
  time_point::duration elapsed() const { return now() - kStart; }

 private:
  static constexpr time_point kStart{std::chrono::hours(1000)};
  mutable std::mutex mu_;
  mutable time_point now_{kStart};
  mutable std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace kthw::testing
