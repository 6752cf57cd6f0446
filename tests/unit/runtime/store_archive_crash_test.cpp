// What a crash at each step of replaceStoreDirectory leaves: the old store or the new one, whole,
// and leftovers beside it that the next replace removes. The crash is a child process ended
// with _exit at that step (StoreReplaceFaultsForTesting).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "runtime/store_archive.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;
using Step = StoreReplaceFaultsForTesting::Step;

StoreArchive oldStore() {
  return {"c",
          {{"pki/authorities/ca.crt", 0600, "OLD CA\n"},
           {"pki/authorities/ca.key", 0600, "OLD KEY\n"},
           {"pki/encryption/encryption-config.key1", 0600, "OLD ENCRYPTION KEY"}}};
}

StoreArchive newStore() {
  return {"c",
          {{"pki/authorities/ca.crt", 0600, "NEW CA\n"},
           {"pki/authorities/ca.key", 0600, "NEW KEY\n"},
           {"pki/certificates/admin.crt", 0600, "ADMIN\n"},
           {"pki/certificates/admin.key", 0600, "ADMIN KEY\n"}}};
}

// The first `n` files of `archive`, as a crash after writing them leaves the new directory.
StoreArchive firstFiles(StoreArchive archive, size_t n) {
  archive.files.resize(n);
  return archive;
}

std::string text(const std::string& dir) {
  auto files = readStoreFiles(dir, "c");
  return files.ok() ? encodeStoreArchive(*files) : "unreadable: " + files.status().message();
}

// The mode of `dir` and of everything under it, by path relative to it ("." for itself).
std::map<std::string, unsigned> modesUnder(const std::string& dir) {
  std::map<std::string, unsigned> modes;
  struct stat st {};
  ::stat(dir.c_str(), &st);
  modes["."] = st.st_mode & 07777;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    ::lstat(e.path().c_str(), &st);
    modes[e.path().lexically_relative(dir).string()] = st.st_mode & 07777;
  }
  return modes;
}

std::set<std::string> namesIn(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class StoreReplaceCrash : public ::testing::TestWithParam<Step> {
 protected:
  void SetUp() override {
    parent_ =
        ::testing::TempDir() + "/kthw-store-crash-" + std::to_string(static_cast<int>(GetParam()));
    fs::remove_all(parent_);
    store_ = parent_ + "/store";
    fs::create_directories(store_);
    ::chmod(store_.c_str(), 0700);
    ASSERT_TRUE(replaceStoreDirectory(store_, oldStore()).ok());
    ASSERT_EQ(namesIn(parent_), std::set<std::string>{"store"});
  }

  // Runs the replace in a child that the fault ends at GetParam(); returns its exit status.
  int crashedReplace() {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const Status s = replaceStoreDirectoryForTesting(store_, newStore(), {GetParam(), 2});
      ::_exit(s.ok() ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  std::string parent_;
  std::string store_;
};

TEST_P(StoreReplaceCrash, LeavesTheOldStoreOrTheNewOneWholeAndTheNextReplaceCleansUp) {
  ASSERT_EQ(crashedReplace(), kStoreReplaceCrashExitForTesting);

  const bool exchanged = GetParam() == Step::kExchanged;
  EXPECT_EQ(text(store_), encodeStoreArchive(exchanged ? newStore() : oldStore()));
  for (const auto& [path, mode] : modesUnder(store_)) {
    EXPECT_EQ(mode, fs::is_directory(store_ + "/" + path) ? 0700u : 0600u) << path;
  }
  // Beside the store: what the crash left, as far as it got.
  std::set<std::string> beside = namesIn(parent_);
  ASSERT_EQ(beside.erase("store"), 1u);
  ASSERT_EQ(beside.size(), 1u);
  const std::string leftover = parent_ + "/" + *beside.begin();
  EXPECT_TRUE(beside.begin()->starts_with(".store.restore-")) << leftover;
  const StoreArchive left = GetParam() == Step::kNewFilesWritten ? firstFiles(newStore(), 2)
                            : exchanged                          ? oldStore()
                                                                 : newStore();
  EXPECT_EQ(text(leftover), encodeStoreArchive(left));

  const StoreArchive next{"c", {{"pki/authorities/ca.crt", 0600, "NEXT CA\n"}}};
  ASSERT_TRUE(replaceStoreDirectory(store_, next).ok());
  EXPECT_EQ(namesIn(parent_), std::set<std::string>{"store"});
  EXPECT_EQ(text(store_), encodeStoreArchive(next));
}

TEST(StoreReplaceFaults, NoneLetsTheReplaceFinish) {
  const std::string parent = ::testing::TempDir() + "/kthw-store-crash-none";
  fs::remove_all(parent);
  fs::create_directories(parent + "/store");
  ASSERT_TRUE(replaceStoreDirectoryForTesting(parent + "/store", newStore(), {}).ok());
  EXPECT_EQ(text(parent + "/store"), encodeStoreArchive(newStore()));
  EXPECT_EQ(namesIn(parent), std::set<std::string>{"store"});
}

std::string stepName(const ::testing::TestParamInfo<Step>& step) {
  switch (step.param) {
    case Step::kNewFilesWritten:
      return "AfterSomeNewFiles";
    case Step::kNewDirectoryComplete:
      return "BeforeTheExchange";
    case Step::kExchanged:
      return "AfterTheExchange";
    case Step::kNone:
      break;
  }
  return "None";
}

INSTANTIATE_TEST_SUITE_P(EachStep, StoreReplaceCrash,
                         ::testing::Values(Step::kNewFilesWritten, Step::kNewDirectoryComplete,
                                           Step::kExchanged),
                         stepName);

}  // namespace
}  // namespace kthw::runtime
