#include "runtime/secret_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

std::string freshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/kthw-store-" + name;
  fs::remove_all(dir);
  return dir;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(SecretStore, WritesPrivatelyAndReadsBack) {
  const std::string dir = freshDir("private");
  auto store = SecretStore::open(dir, SecretStore::Mode::kWrite);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->write("b/certificates/x.key", "KEY").ok());
  EXPECT_EQ((*store)->read("b/certificates/x.key"), "KEY");
  EXPECT_FALSE((*store)->read("b/absent").has_value());
  EXPECT_EQ(modeOf(dir), 0700u);
  EXPECT_EQ(modeOf(dir + "/b"), 0700u);
  EXPECT_EQ(modeOf(dir + "/b/certificates"), 0700u);
  EXPECT_EQ(modeOf(dir + "/b/certificates/x.key"), 0600u);
  EXPECT_FALSE((*store)->write("../escape", "x").ok());
}

TEST(SecretStore, RefusesALocationInsideAGitWorkTree) {
  const std::string repo = freshDir("repo");
  fs::create_directories(repo + "/.git");
  auto store = SecretStore::open(repo + "/secrets", SecretStore::Mode::kWrite);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("inside the git work tree"), std::string::npos);
  EXPECT_FALSE(fs::exists(repo + "/secrets"));
}

TEST(SecretStore, OneWriterAtATime) {
  const std::string dir = freshDir("lock");
  auto first = SecretStore::open(dir, SecretStore::Mode::kWrite);
  ASSERT_TRUE(first.ok());
  auto second = SecretStore::open(dir, SecretStore::Mode::kWrite);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAborted);
  EXPECT_NE(second.status().message().find("(pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.status().message();
  auto reader = SecretStore::open(dir, SecretStore::Mode::kRead);
  EXPECT_FALSE(reader.ok());  // a writer holds it
  first->reset();
  EXPECT_TRUE(SecretStore::open(dir, SecretStore::Mode::kWrite).ok());
}

TEST(SecretStore, ReadModeNeverCreatesAndRefusesAnOpenDirectory) {
  const std::string dir = freshDir("absent");
  auto missing = SecretStore::open(dir, SecretStore::Mode::kRead);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir));
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  auto open = SecretStore::open(dir, SecretStore::Mode::kRead);
  EXPECT_EQ(open.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kthw::runtime
