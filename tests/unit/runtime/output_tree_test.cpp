// render --out-dir: every file lands beneath the output directory, never in a git work tree,
// never through a symlink.
#include "runtime/output_tree.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

class OutputTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kthw-out-XXXXXX";
    base_ = ::mkdtemp(tmpl);
    root_ = base_ / "out";
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(base_); }
  fs::path base_, root_;
};

TEST_F(OutputTree, PlacesAHostFileBeneathTheHostDirectory) {
  EXPECT_EQ(pathBeneath(root_, "h", "/etc/ca.pem").value(), root_ / "h/etc/ca.pem");
  EXPECT_FALSE(pathBeneath(root_, "h", "/etc/../../escape").ok());
  EXPECT_FALSE(pathBeneath(root_, "h", "/../../../etc/passwd").ok());
  EXPECT_FALSE(pathBeneath(root_, "h", "etc/relative").ok());
  EXPECT_FALSE(pathBeneath(root_, "..", "/x").ok());
  EXPECT_FALSE(pathBeneath(root_, "h", "/").ok());
}

TEST_F(OutputTree, WritesWithTheModeAndRefusesADotDotEscape) {
  ASSERT_TRUE(writeFileBeneath(root_, "h", "/etc/k.pem", "key", 0600).ok());
  EXPECT_EQ(fs::status(root_ / "h/etc/k.pem").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(writeFileBeneath(root_, "h", "/../../outside", "x", 0644).ok());
  EXPECT_FALSE(fs::exists(base_ / "outside"));
}

TEST_F(OutputTree, RefusesADirectoryThatLinksOutside) {
  fs::create_directories(root_ / "h");
  fs::create_directories(base_ / "elsewhere");
  fs::create_directory_symlink(base_ / "elsewhere", root_ / "h/etc");
  EXPECT_FALSE(writeFileBeneath(root_, "h", "/etc/ca.pem", "x", 0644).ok());
  EXPECT_FALSE(fs::exists(base_ / "elsewhere/ca.pem"));
}

TEST_F(OutputTree, RefusesAFileThatIsASymlink) {
  fs::create_directories(root_ / "h/etc");
  std::ofstream(base_ / "target") << "old";
  fs::create_symlink(base_ / "target", root_ / "h/etc/ca.pem");
  EXPECT_FALSE(writeFileBeneath(root_, "h", "/etc/ca.pem", "new", 0644).ok());
  std::ifstream in(base_ / "target");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "old");
}

TEST_F(OutputTree, RefusesAFinalPathInsideAGitWorkTree) {
  fs::create_directories(root_ / "h/srv/repo/.git");
  const Status s = writeFileBeneath(root_, "h", "/srv/repo/keys/k.pem", "key", 0600);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("git work tree"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(root_ / "h/srv/repo/keys/k.pem"));
}

}  // namespace
}  // namespace kthw::runtime
