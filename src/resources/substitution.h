#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/types.h"

namespace kthw::resources {

struct DesiredState;
struct Host;
struct SubstitutionCache;

// Resolves the small substitution language of the desired state:
//   ${host.name} ${host.address} ${host.internalIP} ${host.hostname} ${host.labels.KEY}
//       the host being rendered (ControlPlaneService fields only);
//   ${hosts(role=controller).internalIP}
//       one value per selected host, as a whole list item (certificate SANs);
//   ${join(hosts(role=controller), 'https://{internalIP}:2379', ',')}
//       a template per selected host, joined;
//   ${loadBalancer.NAME.address} ${loadBalancer.NAME.port}
// "$${" writes a literal "${". Hosts are taken in name order. Errors name the exact column.
//
// A value may grow by at most kMaxExpansionBytes through substitution: a join over thousands of
// hosts is an error at the expression, not megabytes in every unit. Host selections and joins
// are computed once per Substituter, so rendering every host of a large state stays linear.
// Thread-safe.
inline constexpr size_t kMaxExpansionBytes = size_t{64} * 1024;

class Substituter {
 public:
  explicit Substituter(const DesiredState& state);

  // `host` is the host being rendered, or nullptr outside a per-host context.
  std::optional<std::string> resolve(const Text& text, const Host* host, Diagnostics& out) const;
  // Like resolve, but an item that is exactly one ${hosts(...).FIELD} expands to many.
  std::optional<std::vector<std::string>> resolveList(const Text& text, const Host* host,
                                                      Diagnostics& out) const;

  // resolveList over every item, concatenated (e.g. a certificate's SANs).
  std::vector<std::string> resolveAll(const std::vector<Text>& items, const Host* host,
                                      Diagnostics& out) const;

  static bool hasSubstitution(const std::string& value);

 private:
  const DesiredState& state_;
  std::shared_ptr<SubstitutionCache> cache_;
};

}  // namespace kthw::resources
