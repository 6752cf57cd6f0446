// One broken document reports its own error, not the errors that follow only from it: the
// examples/ha-cluster state, copied and broken one way per test, must give exactly the error at
// the cause. Errors that do not follow from a failed document are still reported beside it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "resources/desired_state.h"

namespace kthw::resources {
namespace {

namespace fs = std::filesystem;

class ErrorCausesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kthw-causes-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::copy(std::string(KTHW_SOURCE_DIR) + "/examples/ha-cluster", dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  std::string read(const std::string& file) const {
    std::ifstream in(path(file));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path(file), std::ios::binary | std::ios::trunc) << text;
  }

  // Replaces the first `from` in `file` with `to`.
  void edit(const std::string& file, const std::string& from, const std::string& to) const {
    std::string text = read(file);
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << file;
    write(file, text.replace(at, from.size(), to));
  }

  // The 1-based number of the first (or last) line of `file` that starts with `prefix`.
  int lineOf(const std::string& file, const std::string& prefix, bool last = false) const {
    std::istringstream text(read(file));
    int n = 0;
    int found = 0;
    for (std::string line; std::getline(text, line);) {
      ++n;
      if (!line.starts_with(prefix)) continue;
      found = n;
      if (!last) break;
    }
    if (found == 0) ADD_FAILURE() << prefix << " not in " << file;
    return found;
  }

  std::vector<std::string> errors() const {
    std::istringstream none;
    const LoadOutcome o = loadDesiredState({dir_}, none);
    std::vector<std::string> out;
    for (const Diagnostic& d : o.errors) out.push_back(d.toString());
    return out;
  }

  std::string dir_;
};

TEST_F(ErrorCausesTest, TheExampleIsValidUnbroken) { EXPECT_TRUE(errors().empty()); }

TEST_F(ErrorCausesTest, ATabInHostsYamlIsTheOnlyError) {
  const int line = lineOf("hosts.yaml", "  internalIP: 10.0.1.10");
  edit("hosts.yaml", "  internalIP: 10.0.1.10", "\tinternalIP: 10.0.1.10");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_TRUE(e[0].starts_with(path("hosts.yaml") + ":" + std::to_string(line) + ":1: ")) << e[0];
  EXPECT_NE(e[0].find("YAML indents with spaces, never tabs; the rest of the file is not read"),
            std::string::npos)
      << e[0];
}

TEST_F(ErrorCausesTest, ADuplicateHostNameIsReportedOnceAtTheDuplicate) {
  const int line = lineOf("hosts.yaml", "  name: controller-1");
  edit("hosts.yaml", "  name: controller-1", "  name: controller-0");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], path("hosts.yaml") + ":" + std::to_string(line) +
                      ":9: metadata.name: duplicate Host \"controller-0\" (first defined at " +
                      path("hosts.yaml") + ":" +
                      std::to_string(lineOf("hosts.yaml", "  name: controller-0")) + ")");
}

TEST_F(ErrorCausesTest, ABrokenCertificateBundleFileIsTheOnlyError) {
  // kube-apiserver's health check and the load balancer's route check name the bundle; its
  // substitutions name the load balancer.
  edit("pki.yaml", "  authorities:", "  authorities: [");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_TRUE(e[0].starts_with(path("pki.yaml") + ":")) << e[0];
  EXPECT_NE(e[0].find("invalid YAML"), std::string::npos) << e[0];
}

TEST_F(ErrorCausesTest, ABrokenLoadBalancerFileLeavesNoDanglingSubstitution) {
  // pki.yaml and kube-apiserver.yaml use ${loadBalancer.kubernetes.address}.
  edit("loadbalancer.yaml", "  frontend:", "  frontend: {");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_TRUE(e[0].starts_with(path("loadbalancer.yaml") + ":")) << e[0];
}

TEST_F(ErrorCausesTest, AnInvalidHostIsTheOnlyError) {
  const int line = lineOf("hosts.yaml", "  address: 10.0.1.30");
  edit("hosts.yaml", "  address: 10.0.1.30", "  address: \"not a host!\"");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_TRUE(
      e[0].starts_with(path("hosts.yaml") + ":" + std::to_string(line) + ":12: spec.address: "))
      << e[0];
}

TEST_F(ErrorCausesTest, FilesJoinedWithoutSeparatorGiveOneErrorWhereTheSeparatorBelongs) {
  const std::string hosts = read("hosts.yaml");
  const int hostLines = static_cast<int>(std::count(hosts.begin(), hosts.end(), '\n'));
  const int lastHostLine = lineOf("hosts.yaml", "apiVersion:", true);
  const int balancerLine = lineOf("loadbalancer.yaml", "apiVersion:");
  write("hosts.yaml", hosts + read("loadbalancer.yaml"));
  fs::remove(path("loadbalancer.yaml"));
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_EQ(e[0], path("hosts.yaml") + ":" + std::to_string(hostLines + balancerLine) +
                      ":1: apiVersion: duplicate key \"apiVersion\" (first at line " +
                      std::to_string(lastHostLine) +
                      "): a \"---\" line is probably missing here; read as the start of a new "
                      "document");
}

TEST_F(ErrorCausesTest, AReferenceThatNoFailedDocumentCouldSatisfyIsStillReported) {
  // A ClusterRole file that fails cannot have declared a Host: lb-1 is a typo of its own.
  edit("rbac.yaml", "rules:", "rules: [");
  edit("loadbalancer.yaml", "host: lb-0", "host: lb-1");
  edit("etcd.yaml", "role: controller", "role: controler");
  const auto e = errors();
  ASSERT_EQ(e.size(), 3u) << ::testing::PrintToString(e);
  EXPECT_NE(e[0].find("role=controler matches no Host"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("spec.host: no Host named \"lb-1\""), std::string::npos) << e[1];
  EXPECT_TRUE(e[2].starts_with(path("rbac.yaml") + ":")) << e[2];
}

TEST_F(ErrorCausesTest, ALostDocumentOfUnknownKindMayExplainAnyMissingResource) {
  write("zz-broken.yaml", "metadata: {name: lb-1}\nspec: [\n");
  edit("loadbalancer.yaml", "host: lb-0", "host: lb-1");
  const auto e = errors();
  ASSERT_EQ(e.size(), 1u) << ::testing::PrintToString(e);
  EXPECT_TRUE(e[0].starts_with(path("zz-broken.yaml") + ":")) << e[0];
}

}  // namespace
}  // namespace kthw::resources
