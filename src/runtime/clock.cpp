#include "runtime/clock.h"

#include <thread>

namespace kthw::runtime {

Clock::time_point SteadyClock::now() const { return std::chrono::steady_clock::now(); }

void SteadyClock::sleepFor(std::chrono::milliseconds d) const { std::this_thread::sleep_for(d); }

const Clock& steadyClock() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace kthw::runtime
