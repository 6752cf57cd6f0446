#include "runtime/deadline.h"

namespace kthw::runtime {

std::string formatTimeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 60000 == 0 && ms >= 60000) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

bool runUntilDone(boost::asio::io_context& ioc, const bool& done, SteadyTime hardStop,
                  const std::function<void()>& cancel) {
  ioc.restart();
  while (!done) {
    if (ioc.run_one_until(hardStop) == 0 && !done) break;
  }
  if (done) return true;
  cancel();
  ioc.restart();
  while (!done && ioc.run_one() != 0) {
  }
  return false;
}

}  // namespace kthw::runtime
