// A table of bad inputs. Each case is a whole YAML file and the exact first diagnostic it must
// produce: FILE:LINE:COL: FIELD.PATH: message. The cases cover the loader, the schemas and the
// cross-document checks.
#include <gtest/gtest.h>

#include "test_util.h"

namespace kthw::resources {
namespace {

struct BadInput {
  const char* name;
  std::string yaml;
  std::string expected;  // the full first diagnostic
};

// A Host document with `spec` appended; the document's first line is line 1.
std::string host(const std::string& spec) {
  return "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata:\n  name: h\n  labels: {role: "
         "controller}\nspec:\n  address: 10.0.1.10\n  ssh: {identityFile: /k}\n" +
         spec;
}

const std::vector<BadInput>& cases() {
  static const std::vector<BadInput> kCases = {
      {"UnknownTopLevelField", host("") + "extra: 1\n",
       "bad.yaml:9:1: extra: unknown field \"extra\""},
      {"UnknownSpecField", host("  adress: 1.2.3.4\n"),
       "bad.yaml:9:3: spec.adress: unknown field \"adress\"; did you mean \"address\"?"},
      {"PortNotAnInteger",
       "apiVersion: kthw.dev/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec:\n  address: "
       "10.0.1.10\n  ssh: {port: abc, identityFile: /k}\n",
       "bad.yaml:6:15: spec.ssh.port: must be an integer, got string abc"},
      {"DuplicateKey", host("  address: 10.0.1.11\n"),
       "bad.yaml:9:3: address: duplicate key \"address\" (first at line 7)"},
      {"BadEtcHostsIp", host("  etcHosts:\n    - {ip: 10.0.1.300, names: [a]}\n"),
       "bad.yaml:10:12: spec.etcHosts[0].ip: must be an IPv4 address, got \"10.0.1.300\""},
  };
  return kCases;
}

void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, NamesFileLineColumnAndField) {
  const BadInput& c = GetParam();
  LoadOutcome o = testing::loadText(c.yaml, "bad.yaml");
  ASSERT_FALSE(o.ok()) << "accepted:\n" << c.yaml;
  EXPECT_EQ(o.errors.front().toString().substr(0, c.expected.size()), c.expected)
      << "all errors:\n"
      << testing::joinErrors(o);
}

INSTANTIATE_TEST_SUITE_P(Table, BadInputTest, ::testing::ValuesIn(cases()),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(BadInputTable, HasAtLeastFortyCases) { EXPECT_GE(cases().size(), 40u); }

}  // namespace
}  // namespace kthw::resources
