#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace kthw::runtime {

using SteadyTime = std::chrono::steady_clock::time_point;

// "5s", "1500ms", "10m": how long a deadline was, for messages.
std::string formatTimeout(std::chrono::milliseconds timeout);

// Runs `ioc` until `done` turns true. The operation under way is expected to end by itself at
// its deadline (beast::tcp_stream closes its socket when `expires_at` passes); should it still
// be pending at `hardStop`, `cancel` is called — it must close the socket — and the handler is
// waited for, so nothing it refers to is used after the caller returns. Returns false when
// `cancel` was needed.
bool runUntilDone(boost::asio::io_context& ioc, const bool& done, SteadyTime hardStop,
                  const std::function<void()>& cancel);

}  // namespace kthw::runtime
