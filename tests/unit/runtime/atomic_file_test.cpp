#include "runtime/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/kthw-atomic-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  size_t entries() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  std::string dir_;
};

TEST_F(AtomicFileTest, WritesWithExactlyTheModeWhateverTheUmask) {
  const mode_t old = ::umask(0);
  const std::string path = dir_ + "/config";
  Status s = writeFileAtomically(path, "secret\n", 0600);
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(*readLocalFile(path), "secret\n");
  EXPECT_EQ(entries(), 1u);  // no temporary file left behind
}

TEST_F(AtomicFileTest, ReplacesAWiderFileAndASymlinkItselfNotItsTarget) {
  const std::string path = dir_ + "/config";
  { std::ofstream(path) << "old"; }
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(writeFileAtomically(path, "new", 0600).ok());
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(*readLocalFile(path), "new");

  const std::string elsewhere = dir_ + "/elsewhere";
  { std::ofstream(elsewhere) << "untouched"; }
  const std::string link = dir_ + "/link";
  fs::create_symlink(elsewhere, link);
  ASSERT_TRUE(writeFileAtomically(link, "new", 0600).ok());
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_EQ(*readLocalFile(elsewhere), "untouched");
}

TEST_F(AtomicFileTest, FailsWithoutADirectoryAndLeavesNothing) {
  EXPECT_FALSE(writeFileAtomically(dir_ + "/missing/config", "x", 0600).ok());
  fs::create_directories(dir_ + "/a-directory");
  EXPECT_FALSE(writeFileAtomically(dir_ + "/a-directory", "x", 0600).ok());
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFileTest, ReadingSaysWhatIsMissingAndWhatIsNoFile) {
  EXPECT_EQ(readLocalFile(dir_ + "/none").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(readLocalFile(dir_).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kthw::runtime
