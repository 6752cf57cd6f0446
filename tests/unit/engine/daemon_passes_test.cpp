#include <gtest/gtest.h>

#include "engine/daemon.h"

namespace kthw::engine {
namespace {

using runtime::WorkResult;

// The controller's one rule for a failed pass: Status::retryable decides.
TEST(WorkResultOf, RetriesWhatMaySucceedLaterAndLeavesAnInvalidSpecAlone) {
  EXPECT_EQ(workResultOf(okStatus()), WorkResult::kSuccess);
  EXPECT_EQ(workResultOf(invalidArgument("CertificateBundle/a and /b both write x")),
            WorkResult::kTerminal);
  EXPECT_EQ(workResultOf(unavailable("mirror down")), WorkResult::kRetry);
  EXPECT_EQ(workResultOf(failedPrecondition("identity has mode 0644")), WorkResult::kRetry);
  EXPECT_EQ(workResultOf(notFound("identity does not exist")), WorkResult::kRetry);
  EXPECT_EQ(workResultOf(cancelled("kthw is shutting down")), WorkResult::kRetry);
}

}  // namespace
}  // namespace kthw::engine
