#include "runtime/store_archive.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "runtime/atomic_file.h"
#include "runtime/secret_store.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

std::string freshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/kthw-archive-" + name;
  fs::remove_all(dir);
  return dir;
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

StoreArchive sample() {
  return {"kthw-test",
          {{"cluster-pki/authorities/ca.key", 0600, "KEY\n"},
           {"cluster-pki/encryption/config.yaml", 0600, std::string("bin\0ary\n", 8)},
           {"empty", 0600, ""}}};
}

std::string errorOf(std::string_view text) {
  auto decoded = decodeStoreArchive(text);
  EXPECT_FALSE(decoded.ok()) << "accepted: " << text;
  return decoded.ok() ? "" : decoded.status().message();
}

std::string entry(const std::string& path, const std::string& content = "x") {
  return "file 0600 " + std::to_string(path.size()) + " " + std::to_string(content.size()) + "\n" +
         path + "\n" + content + "\n";
}

TEST(StoreArchive, RoundTrips) {
  const std::string text = encodeStoreArchive(sample());
  EXPECT_TRUE(text.starts_with("kthw-store-archive v1\ncluster kthw-test\nfile 0600 30 4\n"));
  auto back = decodeStoreArchive(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->clusterName, "kthw-test");
  ASSERT_EQ(back->files.size(), 3u);
  EXPECT_EQ(back->files[1].content, std::string("bin\0ary\n", 8));
  EXPECT_EQ(back->files[1].mode, 0600u);
  EXPECT_EQ(encodeStoreArchive(*back), text);
}

TEST(StoreArchive, RefusesUnsafePaths) {
  const std::string head = "kthw-store-archive v1\ncluster c\n";
  for (const std::string& path :
       std::vector<std::string>{"../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", "a/", "",
                                ".lock", std::string("a\0b", 3)}) {
    EXPECT_NE(errorOf(head + entry(path) + "end 1\n").find("unsafe path"), std::string::npos)
        << path;
  }
  EXPECT_TRUE(decodeStoreArchive(head + entry("a/..b/c") + "end 1\n").ok());
}

TEST(StoreArchive, RefusesAnythingButTheLayout) {
  const std::string head = "kthw-store-archive v1\ncluster c\n";
  const std::string good = head + entry("a") + "end 1\n";
  ASSERT_TRUE(decodeStoreArchive(good).ok());
  errorOf("kthw-store-archive v2\ncluster c\nend 0\n");
  errorOf("kthw-store-archive v1\nend 0\n");
  errorOf(good + "x");                                  // data after the end
  errorOf(good.substr(0, good.size() - 1));             // truncated end line
  errorOf(head + entry("a"));                           // no end line
  errorOf(head + entry("a") + "end 2\n");               // wrong count
  errorOf(head + entry("a") + entry("a") + "end 2\n");  // a path twice
  errorOf(head + "file 1600 1 1\na\nx\nend 1\n");       // beyond 0777
  errorOf(head + "file 0600 1 5\na\nx\nend 1\n");       // content longer than what is left
  errorOf(head + "file 0600 1 01\na\nx\nend 1\n");      // leading zero
  errorOf(head + "file 0600 1 -1\na\nx\nend 1\n");
  errorOf(head + "file 0600  1 1\na\nx\nend 1\n");
  errorOf(head + "file 0600 1 1\na\nxyend 1\n");
}

TEST(StoreArchive, ReadsAStoreAndReplacesAnotherWholly) {
  const std::string from = freshDir("from");
  const std::string to = freshDir("to");
  fs::create_directories(from + "/b/certificates");
  ASSERT_TRUE(writeFileAtomically(from + "/b/certificates/x.key", "KEY", 0600).ok());
  ASSERT_TRUE(writeFileAtomically(from + "/b/ca.crt", "CERT", 0600).ok());
  ASSERT_TRUE(writeFileAtomically(from + "/.lock", "pid 1\n", 0600).ok());
  auto archive = readStoreFiles(from, "c");
  ASSERT_TRUE(archive.ok()) << archive.status().message();
  ASSERT_EQ(archive->files.size(), 2u);  // not .lock
  EXPECT_EQ(archive->files[0].path, "b/ca.crt");
  EXPECT_EQ(archive->files[1].path, "b/certificates/x.key");
  EXPECT_EQ(archive->files[1].mode, 0600u);

  fs::create_directories(to + "/old");
  ::chmod(to.c_str(), 0700);
  ASSERT_TRUE(writeFileAtomically(to + "/old/stale.key", "OLD", 0600).ok());
  EXPECT_EQ(storeHoldsFiles(to).value(), true);
  ASSERT_TRUE(replaceStoreDirectory(to, *archive).ok());
  EXPECT_FALSE(fs::exists(to + "/old"));
  EXPECT_EQ(readLocalFile(to + "/b/certificates/x.key").value(), "KEY");
  EXPECT_EQ(modeOf(to), 0700u);
  EXPECT_EQ(modeOf(to + "/b/certificates"), 0700u);
  EXPECT_EQ(modeOf(to + "/b/certificates/x.key"), 0600u);
  for (const auto& e : fs::directory_iterator(fs::path(to).parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(".restore-"), std::string::npos) << e.path();
  }
  auto again = readStoreFiles(to, "c");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(encodeStoreArchive(*again), encodeStoreArchive(*archive));
}

TEST(StoreArchive, ReplacingRemovesWhatACrashedRestoreLeft) {
  const std::string dir = freshDir("crashed");
  const std::string leftover =
      fs::path(dir).parent_path().string() + "/.kthw-archive-crashed" + ".restore-99999999";
  fs::create_directories(leftover + "/b");
  ASSERT_TRUE(writeFileAtomically(leftover + "/b/half.key", "HALF", 0600).ok());
  fs::create_directories(dir);
  ASSERT_TRUE(replaceStoreDirectory(dir, {"c", {{"a.key", 0600, "A"}}}).ok());
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_EQ(readLocalFile(dir + "/a.key").value(), "A");
}

// The caller's lock on the store holds across the exchange: another kthw process that opens the
// store right after the replace (to apply, say) waits instead of writing into it.
TEST(StoreArchive, TheStoreStaysLockedAcrossTheReplace) {
  const std::string dir = freshDir("locked");
  auto held = SecretStore::open(dir, SecretStore::Mode::kWrite);
  ASSERT_TRUE(held.ok()) << held.status().message();
  ASSERT_TRUE(replaceStoreDirectory(dir, {"c", {{"a.key", 0600, "A"}}}).ok());
  EXPECT_EQ(readLocalFile(dir + "/a.key").value(), "A");
  auto second = SecretStore::open(dir, SecretStore::Mode::kRead);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("locked by another kthw process"), std::string::npos)
      << second.status().message();
  held->reset();
  EXPECT_TRUE(SecretStore::open(dir, SecretStore::Mode::kWrite).ok());
}

// A store reached through a symlink (onto another volume, say) is replaced where it lives; the
// link stays a link.
TEST(StoreArchive, AStoreBehindASymlinkIsReplacedWhereItLives) {
  const std::string real = freshDir("symlinked-real");
  const std::string link = freshDir("symlinked-link");
  fs::remove_all(link);
  fs::create_directories(real);
  ::chmod(real.c_str(), 0700);
  fs::create_directory_symlink(real, link);
  ASSERT_TRUE(replaceStoreDirectory(link, {"c", {{"a.key", 0600, "A"}}}).ok());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(readLocalFile(real + "/a.key").value(), "A");
  EXPECT_EQ(readLocalFile(link + "/a.key").value(), "A");
  fs::remove(link);
}

TEST(StoreArchive, AnEmptyOrMissingStoreHoldsNoFiles) {
  const std::string dir = freshDir("empty");
  EXPECT_EQ(storeHoldsFiles(dir).value(), false);
  fs::create_directories(dir + "/b");
  ASSERT_TRUE(writeFileAtomically(dir + "/.lock", "", 0600).ok());
  EXPECT_EQ(storeHoldsFiles(dir).value(), false);
}

}  // namespace
}  // namespace kthw::runtime
