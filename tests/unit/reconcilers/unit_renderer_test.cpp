#include "reconcilers/unit_renderer.h"

#include <gtest/gtest.h>

#include "../resources/test_util.h"
#include "reconcilers/systemd_syntax.h"

namespace kthw::reconcilers {
namespace {

using resources::testing::loadText;

const char* kService = R"(---
apiVersion: kthw.dev/v1alpha1
kind: ControlPlaneService
metadata:
  name: etcd
spec:
  component: etcd
  hosts: {selector: {role: controller}}
  binary: {path: /usr/bin/etcd}
  unit:
    description: etcd
    type: notify
    user: etcd
  flags:
    name: ${host.name}
    initial-cluster: "${join(hosts(role=controller), '{name}=https://{internalIP}:2380', ',')}"
    client-cert-auth: ~
    log-format: "a b"
  args: ["--", "$literal"]
)";

TEST(UnitRenderer, RendersFlagsPerHostInDocumentOrder) {
  auto o = loadText(std::string(resources::testing::kMinimalHosts) + kService);
  ASSERT_TRUE(o.ok()) << resources::testing::joinErrors(o);
  resources::Substituter sub(o.state);
  resources::Diagnostics d;
  auto unit = renderUnit(o.state.services.at(0), *o.state.findHost("controller-1"), sub, d);
  ASSERT_TRUE(unit) << d.at(0).toString();
  EXPECT_EQ(*unit,
            "[Unit]\n"
            "Description=etcd\n"
            "\n"
            "[Service]\n"
            "Type=notify\n"
            "User=etcd\n"
            "ExecStart=/usr/bin/etcd \\\n"
            "  --name=controller-1 \\\n"
            "  --initial-cluster=controller-0=https://10.0.1.10:2380,"
            "controller-1=https://10.0.1.11:2380 \\\n"
            "  --client-cert-auth \\\n"
            "  \"--log-format=a b\" \\\n"
            "  -- \\\n"
            "  $$literal\n"
            "Restart=on-failure\n"
            "RestartSec=5\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
}

TEST(UnitRenderer, QuotesForSystemd) {
  EXPECT_EQ(systemdCommandWord("--a=b").value(), "--a=b");
  EXPECT_EQ(systemdCommandWord("--a=b c").value(), "\"--a=b c\"");
  EXPECT_EQ(systemdCommandWord("100%").value(), "100%%");
  EXPECT_EQ(systemdCommandWord("say \"hi\"").value(), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(systemdCommandWord("").value(), "\"\"");
}

}  // namespace
}  // namespace kthw::reconcilers
