#include "reconcilers/placement.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "../resources/test_util.h"

namespace kthw::reconcilers {
namespace {

const PlacedItem* findItem(const HostPlacement& p, const std::string& target) {
  for (const PlacedItem& i : p.items) {
    if (i.target == target) return &i;
  }
  return nullptr;
}

const HostPlacement& forHost(const std::vector<HostPlacement>& all, const std::string& name) {
  return *std::find_if(all.begin(), all.end(),
                       [&](const HostPlacement& p) { return p.host->name() == name; });
}

TEST(Placement, PlacesTheHaClusterOnEveryHost) {
  auto o = resources::testing::loadExample("ha-cluster");
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Diagnostics d;
  auto placements = placeDesiredState(o.state, d);
  ASSERT_TRUE(d.empty()) << d.front().toString();
  const HostPlacement& c1 = forHost(placements, "controller-1");
  const PlacedItem* unit = findItem(c1, "/etc/systemd/system/kube-apiserver.service");
  ASSERT_NE(unit, nullptr);
  ASSERT_TRUE(unit->content);
  EXPECT_NE(unit->content->find("--advertise-address=10.0.1.11"), std::string::npos);
  EXPECT_NE(
      unit->content->find(
          "--etcd-servers=https://10.0.1.10:2379,https://10.0.1.11:2379,https://10.0.1.12:2379"),
      std::string::npos);
  const PlacedItem* key = findItem(c1, "/var/lib/kubernetes/kubernetes-key.pem");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->kind, PlacedKind::kSecretFile);
  EXPECT_EQ(key->attributes.mode, 0600u);
  EXPECT_FALSE(key->content);  // key material never enters a placement
  const HostPlacement& lb = forHost(placements, "lb-0");
  const PlacedItem* haproxy = findItem(lb, "/etc/haproxy/haproxy.cfg");
  ASSERT_NE(haproxy, nullptr);
  EXPECT_NE(haproxy->content->find("server controller-2 10.0.1.12:6443 check fall 3 rise 2"),
            std::string::npos);
  EXPECT_EQ(findItem(lb, "/etc/systemd/system/kube-apiserver.service"), nullptr);
}

}  // namespace
}  // namespace kthw::reconcilers
