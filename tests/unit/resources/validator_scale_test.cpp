// The validator against inputs built to make it slow or loud: hundreds of thousands of
// duplicate keys, millions of aliases, a join over thousands of hosts. Each must be answered in
// seconds — a quadratic step would take minutes, and ctest's TIMEOUT (tests/CMakeLists.txt) is
// the guard, as timings on a shared machine are not asserted — with at most
// kMaxPrintedDiagnostics lines of bounded length.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "resources/desired_state.h"
#include "resources/substitution.h"

namespace kthw::resources {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxOutputBytes = 64 * 1024;

class ValidatorScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("kthw-scale-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    start_ = Clock::now();
  }
  void TearDown() override {
    std::cout << "[ timing   ] " << ::testing::UnitTest::GetInstance()->current_test_info()->name()
              << ": " << std::chrono::duration<double>(Clock::now() - start_).count() << " s\n";
    fs::remove_all(dir_);
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  // What `kthw validate -f FILE` prints on stderr, and the outcome.
  static std::pair<LoadOutcome, std::string> validate(const std::string& path,
                                                      const LoadLimits& limits = {}) {
    std::istringstream none;
    LoadOutcome o = loadDesiredState({path}, none, limits);
    std::string out;
    for (const std::string& line : o.errorLines()) out += line + "\n";
    return {std::move(o), out};
  }

  static void expectBounded(const std::string& out) {
    EXPECT_LE(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')),
              kMaxPrintedDiagnostics + 1);
    EXPECT_LT(out.size(), kMaxOutputBytes);
  }

  fs::path dir_;
  Clock::time_point start_;
};

const char* kHostHead = R"(apiVersion: kthw.dev/v1alpha1
kind: Host
metadata: {name: h}
spec:
  address: 10.0.0.1
  ssh: {identityFile: /root/.ssh/id_ed25519}
  sysctls:
)";

TEST_F(ValidatorScaleTest, HalfAMillionDuplicateKeys) {
  // 500 000 distinct keys, then each of them again: every duplicate is looked up among half a
  // million entries.
  constexpr int kKeys = 500000;
  std::string yaml = kHostHead;
  yaml.reserve(yaml.size() + 2 * kKeys * 20);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kKeys; ++i) yaml += "    net.k" + std::to_string(i) + ": \"1\"\n";
  }
  LoadLimits limits;  // raised so that the whole input is read, not cut at the first limit
  limits.maxNodes = 5 * kKeys;
  limits.maxFileBytes = 64u << 20;
  auto [o, out] = validate(write("dup.yaml", yaml), limits);
  ASSERT_FALSE(o.ok());
  // Every duplicate, and the one map over the schema's maxProperties.
  EXPECT_EQ(o.errorCount(), static_cast<size_t>(kKeys) + 1) << out.substr(0, 2000);
  EXPECT_NE(out.find("duplicate key \"net.k0\" (first at line 8)"), std::string::npos)
      << out.substr(0, 2000);
  EXPECT_NE(out.find("and 499901 more error(s)"), std::string::npos)
      << out.substr(out.size() - 200);
  expectBounded(out);
}

TEST_F(ValidatorScaleTest, TwoMillionAliases) {
  constexpr int kAliases = 2000000;
  std::string list = "[&a x";
  list.reserve(list.size() + kAliases * 4);
  for (int i = 0; i < kAliases; ++i) list += ", *a";
  const std::string yaml = std::string(kHostHead) + "    k: " + list + "]\n";
  LoadLimits limits;
  limits.maxNodes = 3 * kAliases;
  limits.maxFileBytes = 64u << 20;
  auto [o, out] = validate(write("aliases.yaml", yaml), limits);
  ASSERT_FALSE(o.ok());
  EXPECT_GE(o.errorCount(), static_cast<size_t>(kAliases));
  EXPECT_NE(out.find("YAML aliases are not supported"), std::string::npos) << out.substr(0, 2000);
  expectBounded(out);

  // Under the default limits the file is cut at a million values: that error is kept, past
  // the thousand aliases before it, and the output is as bounded.
  auto [cut, cutOut] = validate(write("aliases.yaml", yaml));
  EXPECT_TRUE(std::any_of(cut.errors.begin(), cut.errors.end(), [](const Diagnostic& d) {
    return d.message == "document too large: more than 1000000 values";
  }));
  EXPECT_GT(cut.errorCount(), 999000u);
  expectBounded(cutOut);
}

// 5000 Host documents and a service on all of them whose flag joins every host.
std::string manyHosts(int count, const std::string& joinTemplate) {
  std::string yaml;
  for (int i = 0; i < count; ++i) {
    const std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) +
                           "." + std::to_string(i % 256);
    yaml += "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h" + std::to_string(i) +
            "\n  labels: {role: controller}\nspec:\n  address: " + ip +
            "\n  ssh: {identityFile: /root/.ssh/id_ed25519}\n---\n";
  }
  yaml +=
      "apiVersion: kthw.dev/v1alpha1\nkind: ControlPlaneService\nmetadata: {name: etcd}\n"
      "spec:\n  component: etcd\n  hosts: {selector: {role: controller}}\n"
      "  binary: {path: /usr/local/bin/etcd}\n  flags:\n"
      "    advertise-address: \"${host.internalIP}\"\n"
      "    initial-cluster: \"${join(hosts(role=controller), '" +
      joinTemplate + "', ',')}\"\n";
  return yaml;
}

TEST_F(ValidatorScaleTest, JoinOverFiveThousandHostsThatFits) {
  auto [o, out] = validate(write("hosts.yaml", manyHosts(5000, "{name}")));
  EXPECT_TRUE(o.ok()) << out.substr(0, 2000);
  EXPECT_EQ(o.state.hosts.size(), 5000u);
  expectBounded(out);
}

TEST_F(ValidatorScaleTest, JoinOverFiveThousandHostsThatExpandsTooFar) {
  const std::string path = write("hosts.yaml", manyHosts(5000, "{name}=https://{internalIP}:2380"));
  auto [o, out] = validate(path);
  ASSERT_FALSE(o.ok());
  // One error, at the expression (the document's last line, after its opening quote), not one
  // per host.
  const int line = 5000 * 9 + 10;
  EXPECT_EQ(out, path + ":" + std::to_string(line) +
                     ":23: spec.flags.initial-cluster: join(...) over 5000 host(s) expands to "
                     "more than " +
                     std::to_string(kMaxExpansionBytes) + " bytes; select fewer hosts\n");
  expectBounded(out);
}

}  // namespace
}  // namespace kthw::resources
