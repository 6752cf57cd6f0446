// Hostile values that are accepted, and what kthw generates from them: a systemd unit read back
// by systemd's rules holds exactly the intended directives and ExecStart argv. Values a unit
// cannot carry are refused by the writer itself, with the field, even when no schema stood in
// the way.
#include <gtest/gtest.h>

#include "../resources/test_util.h"
#include "reconcilers/systemd_syntax.h"
#include "reconcilers/unit_renderer.h"
#include "systemd_split.h"

namespace kthw::reconcilers {
namespace {

using resources::testing::loadText;
using testing::parseUnit;
using testing::splitWords;

const char* kHostileService = R"(---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata:
  name: etcd
spec:
  component: etcd
  hosts: {names: [controller-0]}
  binary: {path: "/opt/etcd dir/etcd"}
  unit:
    description: '100% etcd "quoted" \ ; # not a comment'
    documentation: https://etcd.io/%n
    after: [network-online.target]
    user: etcd
    environment:
      GREETING: 'a $HOME "b" %i \ c'
  flags:
    name: ${host.name}
    zone: ${host.labels.role}
    data-dir: "/var/lib/etcd; rm -rf /"
    quoted: 'say "hi" \n $PATH $${PATH} %h'
    empty: ""
    semicolon: ";"
  args: [";", "", "a'b", "ExecStartPre=/bin/sh"]
)";

struct Rendered {
  std::vector<testing::UnitDirective> directives;
  std::string text;
};

Rendered render(const std::string& extra = "") {
  auto o = loadText(std::string(resources::testing::kMinimalHosts) + kHostileService + extra);
  EXPECT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  if (!o.ok()) return {};
  resources::Substituter sub(o.state);
  resources::Diagnostics d;
  auto unit = renderUnit(o.state.services.at(0), *o.state.findHost("controller-0"), sub, d);
  EXPECT_TRUE(unit) << (d.empty() ? "" : d[0].toString());
  if (!unit) return {};
  return {parseUnit(*unit), *unit};
}

const testing::UnitDirective* find(const Rendered& r, const std::string& key) {
  for (const auto& d : r.directives) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

TEST(HostileUnit, HasExactlyTheIntendedDirectives) {
  const Rendered r = render();
  std::vector<std::string> keys;
  for (const auto& d : r.directives) keys.push_back(d.section + d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"[Unit]Description", "[Unit]Documentation",
                                            "[Unit]After", "[Service]User", "[Service]Environment",
                                            "[Service]ExecStart", "[Service]Restart",
                                            "[Service]RestartSec", "[Install]WantedBy"}))
      << r.text;
}

TEST(HostileUnit, ExecStartArgvIsExactlyTheFlagsAndArgs) {
  const Rendered r = render();
  const auto* exec = find(r, "ExecStart");
  ASSERT_NE(exec, nullptr) << r.text;
  EXPECT_EQ(splitWords(exec->value, true),
            (std::vector<std::string>{
                "/opt/etcd dir/etcd", "--name=controller-0", "--zone=controller",
                "--data-dir=/var/lib/etcd; rm -rf /", "--quoted=say \"hi\" \\n $PATH ${PATH} %h",
                "--empty=", "--semicolon=;", ";", "", "a'b", "ExecStartPre=/bin/sh"}))
      << r.text;
}

TEST(HostileUnit, DescriptionKeepsPercentQuotesAndHash) {
  const Rendered r = render();
  ASSERT_NE(find(r, "Description"), nullptr);
  EXPECT_EQ(find(r, "Description")->value, "100% etcd \"quoted\" \\ ; # not a comment");
  EXPECT_EQ(find(r, "Documentation")->value, "https://etcd.io/%n");
}

TEST(HostileUnit, EnvironmentIsOneAssignmentWithDollarsLiteral) {
  const Rendered r = render();
  ASSERT_NE(find(r, "Environment"), nullptr);
  EXPECT_EQ(splitWords(find(r, "Environment")->value, false),
            (std::vector<std::string>{"GREETING=a $HOME \"b\" %i \\ c"}));
}

// Past the schema (a value built in code): the writer refuses and names the field.
TEST(HostileUnit, WriterRefusesALineBreakWithTheField) {
  auto o = loadText(std::string(resources::testing::kMinimalHosts) + kHostileService);
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::ControlPlaneService s = o.state.services.at(0);
  s.unit.description = "etcd\nExecStartPre=/bin/sh -c id";
  resources::Substituter sub(o.state);
  resources::Diagnostics d;
  EXPECT_FALSE(renderUnit(s, *o.state.findHost("controller-0"), sub, d));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].path, "spec.unit.description");
  EXPECT_EQ(d[0].mark.line, 32);
  EXPECT_NE(d[0].message.find("U+000A"), std::string::npos) << d[0].message;
}

TEST(HostileUnit, WriterRefusesACarriageReturnInAFlagWithTheField) {
  auto o = loadText(std::string(resources::testing::kMinimalHosts) + kHostileService);
  ASSERT_TRUE(o.ok());
  resources::ControlPlaneService s = o.state.services.at(0);
  s.flags.at(2).value.value = "/var/lib/etcd\r\nExecStartPre=/bin/sh";
  resources::Substituter sub(o.state);
  resources::Diagnostics d;
  EXPECT_FALSE(renderUnit(s, *o.state.findHost("controller-0"), sub, d));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].path, "spec.flags.data-dir");
  EXPECT_NE(d[0].message.find("U+000D"), std::string::npos) << d[0].message;
}

TEST(SystemdSyntax, RefusesWhatAUnitCannotCarry) {
  EXPECT_FALSE(systemdValue("a\nb", Specifiers::kExpanded).ok());
  EXPECT_FALSE(systemdValue("a\rb", Specifiers::kExpanded).ok());
  EXPECT_FALSE(systemdValue(std::string("a\0b", 3), Specifiers::kExpanded).ok());
  EXPECT_FALSE(systemdValue("continues\\", Specifiers::kExpanded).ok());
  EXPECT_FALSE(systemdValue(" padded", Specifiers::kExpanded).ok());
  EXPECT_FALSE(systemdValue("5%", Specifiers::kNotExpanded).ok());
  EXPECT_EQ(systemdValue("5%", Specifiers::kExpanded).value(), "5%%");
  EXPECT_FALSE(systemdCommandWord("a\nb").ok());
  EXPECT_FALSE(systemdCommandLine({"etcd", "--a"}).ok());
  EXPECT_FALSE(systemdEnvironment("A=B", "c").ok());
  EXPECT_EQ(systemdEnvironment("A", "$x %y").value(), "\"A=$x %%y\"");
}

}  // namespace
}  // namespace kthw::reconcilers
