// The units kthw renders for examples/ha-cluster match the seeds' units flag for flag: the
// same flags in the same order with the same values, except where the seed writes a shell
// variable (${INTERNAL_IP}, ${KUBERNETES_PUBLIC_ADDRESS}) that kthw substitutes per host.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "../resources/test_util.h"
#include "reconcilers/placement.h"

namespace kthw::reconcilers {
namespace {

using Flags = std::vector<std::pair<std::string, std::string>>;

std::string seedText() {
  for (const auto& e : std::filesystem::directory_iterator(KTHW_SOURCE_DIR "/../shared/seeds")) {
    if (e.path().filename().string().rfind("000_", 0) == 0) {
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    }
  }
  return "";
}

// The ExecStart flags of the unit the seed writes to `unitPath`.
Flags seedFlags(const std::string& seed, const std::string& unitPath) {
  Flags flags;
  const size_t start = seed.find("sudo tee " + unitPath);
  if (start == std::string::npos) return flags;
  const size_t end = seed.find("\nEOF", start);
  std::istringstream in(seed.substr(start, end - start));
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find("--");
    if (line.rfind("  --", 0) != 0 || dash == std::string::npos) continue;
    std::string flag = line.substr(dash + 2);
    if (const size_t cont = flag.find(" \\"); cont != std::string::npos) flag.resize(cont);
    const size_t eq = flag.find('=');
    std::string value = eq == std::string::npos ? "" : flag.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);  // systemd removes the quotes
    }
    flags.emplace_back(flag.substr(0, eq), value);
  }
  return flags;
}

Flags renderedFlags(const std::string& unit) {
  Flags flags;
  std::istringstream in(unit);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("  --", 0) != 0) continue;
    std::string flag = line.substr(4);
    if (const size_t cont = flag.find(" \\"); cont != std::string::npos) flag.resize(cont);
    const size_t eq = flag.find('=');
    flags.emplace_back(flag.substr(0, eq), eq == std::string::npos ? "" : flag.substr(eq + 1));
  }
  return flags;
}

TEST(SeedUnits, HaClusterUnitsMatchTheSeedFlagForFlag) {
  const std::string seed = seedText();
  ASSERT_FALSE(seed.empty()) << "the seeds are expected in ../shared/seeds";
  auto loaded = resources::testing::loadExample("ha-cluster");
  ASSERT_TRUE(loaded.ok()) << resources::testing::joinErrors(loaded);
  resources::Diagnostics d;
  auto placements = placeDesiredState(loaded.state, d);
  ASSERT_TRUE(d.empty());
  const HostPlacement* c0 = nullptr;
  for (const auto& p : placements) {
    if (p.host->name() == "controller-0") c0 = &p;
  }
  ASSERT_NE(c0, nullptr);
  int compared = 0;
  for (const std::string unit : {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}) {
    const std::string path = "/etc/systemd/system/" + unit + ".service";
    const Flags want = seedFlags(seed, path);
    ASSERT_FALSE(want.empty()) << path;
    const PlacedItem* item = nullptr;
    for (const auto& i : c0->items) {
      if (i.target == path) item = &i;
    }
    ASSERT_NE(item, nullptr) << path;
    const Flags got = renderedFlags(*item->content);
    ASSERT_EQ(got.size(), want.size()) << path;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first) << path << " flag " << i;
      if (want[i].second.find('$') == std::string::npos) {
        EXPECT_EQ(got[i].second, want[i].second) << path << " --" << want[i].first;
      }
      ++compared;
    }
  }
  // The substituted ones, for controller-0.
  EXPECT_GE(compared, 40);
}

}  // namespace
}  // namespace kthw::reconcilers
