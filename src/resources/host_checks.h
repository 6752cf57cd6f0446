#pragma once

#include "resources/diagnostic.h"
#include "resources/host.h"

namespace kthw::resources {

// What the schema cannot say about one Host: a numeric address that is no IPv4 address, no way
// to authenticate, duplicate /etc/hosts entries, sysctl names that are not paths under
// /proc/sys.
void checkHost(const Host& h, Diagnostics& out);

}  // namespace kthw::resources
