#include "common/status.h"

#include <gtest/gtest.h>

namespace kthw {
namespace {

// Every code but InvalidArgument may succeed later with the same desired state; OK is no failure.
TEST(Status, OnlyAnInvalidDesiredStateIsNotRetried) {
  EXPECT_FALSE(okStatus().retryable());
  EXPECT_FALSE(invalidArgument("spec.port: must be 1..65535").retryable());
  for (const Status& s :
       {notFound("age identity"), failedPrecondition("identity has mode 0644"),
        permissionDenied("identity"), resourceExhausted("disk"), unavailable("host down"),
        deadlineExceeded("not healthy after 120s"), internalError("bug"), cancelled("stopping"),
        Status(StatusCode::kAborted, "lost a race"), Status(StatusCode::kAlreadyExists, "x")}) {
    EXPECT_TRUE(s.retryable()) << s.toString();
  }
}

TEST(Status, CancelledHasItsOwnName) {
  EXPECT_EQ(cancelled("not started: kthw is shutting down").toString(),
            "Cancelled: not started: kthw is shutting down");
  EXPECT_EQ(cancelled("x").code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace kthw
