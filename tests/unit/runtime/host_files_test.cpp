// The block-editing script itself, run by /bin/sh on this machine against a file of a temp
// directory, as it runs on a host.
#include "runtime/host_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../support/fake_host.h"
#include "runtime/digest.h"
#include "runtime/host_ops.h"
#include "runtime/local_transport.h"

namespace kthw::runtime {
namespace {

constexpr const char* kOld =
    "# BEGIN kthw managed block\n10.0.1.20 old-name\n# END kthw managed block\n";
constexpr const char* kNew =
    "# BEGIN kthw managed block\n10.0.1.20 new-name\n10.0.1.21 added\n# END kthw managed "
    "block\n";

class ReplaceBlockScript : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kthw-block-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/hosts";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void put(const std::string& content) { std::ofstream(path_, std::ios::binary) << content; }
  std::string content() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Replaces the block with the script, and checks that the fake host of the reconciler tests
  // models the same result.
  Status replace(const std::string& block) {
    const std::string before = content();
    ShellHostOps ops(std::make_shared<LocalTransport>(), std::chrono::seconds(10));
    Status s = ops.replaceBlock(path_, block, sha256Hex(before));
    if (s.ok()) {
      EXPECT_EQ(testing::FakeHost::withBlock(before, block), content()) << "the fake differs";
    }
    return s;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(ReplaceBlockScript, UpdatesTheBlockWhereItStandsAndKeepsTheLinesAroundIt) {
  put(std::string("127.0.0.1 localhost\n10.9.9.1 before\n") + kOld +
      "10.0.1.20 operator-override\n# trailing comment\n");
  ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
  Status s = replace(kNew);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(content(), std::string("127.0.0.1 localhost\n10.9.9.1 before\n") + kNew +
                           "10.0.1.20 operator-override\n# trailing comment\n");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u) << "mode kept";
}

TEST_F(ReplaceBlockScript, AppendsABlockAFileDoesNotHaveOnALineOfItsOwn) {
  put("127.0.0.1 localhost\n10.9.9.9 no-newline-at-end");
  ASSERT_TRUE(replace(kNew).ok());
  EXPECT_EQ(content(), std::string("127.0.0.1 localhost\n10.9.9.9 no-newline-at-end\n") + kNew);
}

TEST_F(ReplaceBlockScript, CreatesAMissingFile) {
  ShellHostOps ops(std::make_shared<LocalTransport>(), std::chrono::seconds(10));
  ASSERT_TRUE(ops.replaceBlock(path_, kNew, std::string("")).ok());
  EXPECT_EQ(content(), kNew);
}

TEST_F(ReplaceBlockScript, KeepsOneCopyOfADuplicatedBlockAtTheFirstOnesPlace) {
  put(std::string("a\n") + kOld + "b\n" + kOld + "c\n");
  ASSERT_TRUE(replace(kNew).ok());
  EXPECT_EQ(content(), std::string("a\n") + kNew + "b\nc\n");
}

TEST_F(ReplaceBlockScript, AnEmptyBlockRemovesItAndNothingElse) {
  put(std::string("a\n") + kOld + "b\nlast line without newline");
  ASSERT_TRUE(replace("").ok());
  EXPECT_EQ(content(), "a\nb\nlast line without newline");
}

TEST_F(ReplaceBlockScript, RefusesAFileChangedSinceItWasRead) {
  put(std::string("a\n") + kOld);
  ShellHostOps ops(std::make_shared<LocalTransport>(), std::chrono::seconds(10));
  Status s = ops.replaceBlock(path_, kNew, sha256Hex("something else"));
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s.message();
  EXPECT_EQ(content(), std::string("a\n") + kOld);
}

}  // namespace
}  // namespace kthw::runtime
