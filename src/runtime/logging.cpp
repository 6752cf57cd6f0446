#include "runtime/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace kthw::runtime {

void initLogging(Verbosity verbosity) {
  auto logger = spdlog::stderr_color_mt("kthw");
  logger->set_pattern("%^%l%$: %v");
  switch (verbosity) {
    case Verbosity::kQuiet:
      logger->set_level(spdlog::level::err);
      break;
    case Verbosity::kNormal:
      logger->set_level(spdlog::level::info);
      break;
    case Verbosity::kVerbose:
      logger->set_level(spdlog::level::debug);
      break;
    case Verbosity::kDebug:
      logger->set_level(spdlog::level::trace);
      break;
  }
  spdlog::set_default_logger(logger);
}

}  // namespace kthw::runtime
