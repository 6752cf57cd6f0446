#pragma once

#include <chrono>

namespace kthw::runtime {

// Time as kthw's waits see it: the work queue's ready times, the writer-lock wait, the health
// waits of a rollout and the wait for the API server. Production uses steadyClock(); tests inject
// a clock they move by hand, so that a wait of minutes runs in no time and ends exactly when its
// deadline says.
class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Waits `d` as this clock counts time.
  virtual void sleepFor(std::chrono::milliseconds d) const = 0;
};

class SteadyClock : public Clock {
 public:
  time_point now() const override;
  void sleepFor(std::chrono::milliseconds d) const override;
};

// The process's steady clock.
const Clock& steadyClock();

}  // namespace kthw::runtime
