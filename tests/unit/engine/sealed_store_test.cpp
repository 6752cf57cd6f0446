#include "engine/sealed_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "runtime/age.h"
#include "runtime/atomic_file.h"
#include "runtime/secret_store.h"
#include "runtime/store_archive.h"

namespace kthw::engine {
namespace {

namespace fs = std::filesystem;

// Two machines (each with its own store directory) sharing one sealed file, in a fresh
// directory per test outside any git work tree.
class SealedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::path(::testing::TempDir()) /
             (std::string("kthw-sealed-") +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .lexically_normal()
                .string();
    fs::remove_all(root_);
    fs::create_directories(root_);
    identity_ = writeIdentity("identity.txt");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A fresh age identity file, 0600; returns its path.
  std::string writeIdentity(const std::string& name) {
    auto key = runtime::generateX25519Key();
    EXPECT_TRUE(key.ok());
    const std::string path = root_ + "/" + name;
    EXPECT_TRUE(runtime::writeFileAtomically(
                    path, "# created: test\n" + runtime::formatAgeIdentity(*key) + "\n", 0600)
                    .ok());
    return path;
  }

  resources::CertificateBundle bundle(const std::string& identity,
                                      const std::string& cluster = "kthw-test") const {
    resources::CertificateBundle b;
    b.metadata.name = "cluster";
    b.clusterName = cluster;
    b.sealedStore = resources::SealedStore{sealed(), identity, {}, {}, {}};
    return b;
  }

  std::string sealed() const { return root_ + "/sealed.age"; }
  std::string store(const std::string& machine) const { return root_ + "/" + machine; }

  // Writes files into a machine's store and seals it, as a writing pass does.
  StatusOr<bool> writeAndSeal(const resources::CertificateBundle& b, const std::string& machine,
                              const std::map<std::string, std::string>& files) {
    auto s = runtime::SecretStore::open(store(machine), runtime::SecretStore::Mode::kWrite);
    if (!s.ok()) return s.status();
    for (const auto& [name, content] : files) {
      if (Status w = (*s)->write(name, content); !w.ok()) return w;
    }
    output_.str("");
    return sealStore(b, store(machine), output_);
  }

  void writeOnly(const std::string& machine, const std::string& name, const std::string& content) {
    auto s = runtime::SecretStore::open(store(machine), runtime::SecretStore::Mode::kWrite);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE((*s)->write(name, content).ok());
  }

  runtime::StoreArchive filesOf(const std::string& machine) const {
    auto a = readArchivableStore(store(machine), "kthw-test");
    EXPECT_TRUE(a.ok()) << a.status().message();
    return a.ok() ? *a : runtime::StoreArchive{};
  }

  static std::string encoded(const runtime::StoreArchive& a) {
    return runtime::encodeStoreArchive(a);
  }

  std::string root_;
  std::string identity_;
  std::ostringstream output_;
};

std::string contentOf(const std::string& path) {
  auto text = runtime::readLocalFile(path);
  return text.ok() ? *text : "";
}

TEST_F(SealedStoreTest, RoundTripsEveryFileToAnotherMachine) {
  const auto b = bundle(identity_);
  auto written = writeAndSeal(b, "a", {{"pki/ca.key", "CA KEY\n"}, {"pki/admin.crt", "CERT\n"}});
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_TRUE(*written);
  EXPECT_EQ(output_.str(),
            "sealed store " + sealed() + " updated: commit it beside the desired state\n");
  // The file is encrypted, not a copy of the store.
  const std::string file = contentOf(sealed());
  EXPECT_TRUE(file.starts_with("age-encryption.org/v1\n"));
  EXPECT_EQ(file.find("CA KEY"), std::string::npos);

  auto loaded = loadSealedStore(b, store("b"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE(*loaded);
  EXPECT_EQ(encoded(filesOf("b")), encoded(filesOf("a")));
  EXPECT_EQ(contentOf(store("b") + "/pki/ca.key"), "CA KEY\n");
  // The bookkeeping is local: in both stores, in neither archive.
  EXPECT_TRUE(fs::exists(store("a") + "/.sealed-sha256"));
  EXPECT_TRUE(fs::exists(store("b") + "/.sealed-sha256"));
  for (const auto& f : filesOf("b").files) EXPECT_NE(f.path, ".sealed-sha256");

  // Loaded again, nothing changes.
  auto again = loadSealedStore(b, store("b"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(*again);
}

TEST_F(SealedStoreTest, UnchangedStoreIsNotResealed) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  const std::string before = contentOf(sealed());
  const auto mtime = fs::last_write_time(sealed());
  auto second = writeAndSeal(b, "a", {});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_FALSE(*second);
  EXPECT_EQ(output_.str(), "");
  EXPECT_EQ(contentOf(sealed()), before);
  EXPECT_EQ(fs::last_write_time(sealed()), mtime);

  // Nor by the machine that loaded it.
  ASSERT_TRUE(loadSealedStore(b, store("b")).ok());
  auto fromB = writeAndSeal(b, "b", {});
  ASSERT_TRUE(fromB.ok()) << fromB.status().message();
  EXPECT_FALSE(*fromB);
  EXPECT_EQ(contentOf(sealed()), before);

  // A change is sealed (age encrypts afresh, so the bytes differ whatever the content).
  auto changed = writeAndSeal(b, "a", {{"ca.key", "NEW KEY\n"}});
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_TRUE(*changed);
  EXPECT_NE(contentOf(sealed()), before);
}

TEST_F(SealedStoreTest, WrongIdentityIsRefusedAndTheStoreUntouched) {
  ASSERT_TRUE(writeAndSeal(bundle(identity_), "a", {{"ca.key", "KEY A\n"}}).ok());
  writeOnly("c", "ca.key", "KEY C\n");
  const std::string other = writeIdentity("other.txt");
  auto loaded = loadSealedStore(bundle(other), store("c"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("CertificateBundle/cluster: no identity in " + other +
                                           " opens " + sealed()),
            std::string::npos)
      << loaded.status().message();
  EXPECT_EQ(contentOf(store("c") + "/ca.key"), "KEY C\n");
  EXPECT_FALSE(fs::exists(store("c") + "/.sealed-sha256"));
  // A machine with no store yet gets none.
  EXPECT_FALSE(loadSealedStore(bundle(other), store("d")).ok());
  EXPECT_FALSE(fs::exists(store("d")));
}

TEST_F(SealedStoreTest, ExtraRecipientsOpenIt) {
  const std::string other = writeIdentity("other.txt");
  auto otherKey = runtime::parseAgeIdentityFile(contentOf(other));
  ASSERT_TRUE(otherKey.ok());
  auto otherPublic = runtime::x25519PublicKey(otherKey->front());
  ASSERT_TRUE(otherPublic.ok());
  auto b = bundle(identity_);
  b.sealedStore->recipients.push_back(runtime::formatAgeRecipient(*otherPublic));
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  auto loaded = loadSealedStore(bundle(other), store("b"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(contentOf(store("b") + "/ca.key"), "KEY\n");
}

TEST_F(SealedStoreTest, BadRecipientIsRefusedByField) {
  auto b = bundle(identity_);
  b.sealedStore->recipients = {"age1notakey"};
  auto written = writeAndSeal(b, "a", {{"ca.key", "KEY\n"}});
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("spec.sealedStore.recipients[0]"), std::string::npos)
      << written.status().message();
  EXPECT_FALSE(fs::exists(sealed()));
}

TEST_F(SealedStoreTest, OtherClusterIsRefusedByName) {
  ASSERT_TRUE(writeAndSeal(bundle(identity_, "alpha"), "a", {{"ca.key", "KEY\n"}}).ok());
  auto loaded = loadSealedStore(bundle(identity_, "beta"), store("b"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(
      loaded.status().message().find(sealed() + " holds the secret store of cluster alpha, this "
                                                "bundle's clusterName is beta"),
      std::string::npos)
      << loaded.status().message();
  EXPECT_FALSE(fs::exists(store("b")));
}

TEST_F(SealedStoreTest, TamperedOrTruncatedFileIsRefused) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  const std::string good = contentOf(sealed());
  writeOnly("b", "ca.key", "KEY B\n");
  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x01;
  for (const std::string& bad : {flipped, good.substr(0, good.size() - 10)}) {
    ASSERT_TRUE(runtime::writeFileAtomically(sealed(), bad, 0644).ok());
    auto loaded = loadSealedStore(b, store("b"));
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.status().message().find("CertificateBundle/cluster: " + sealed()),
              std::string::npos)
        << loaded.status().message();
    EXPECT_NE(loaded.status().message().find("tampered with or truncated"), std::string::npos)
        << loaded.status().message();
    EXPECT_EQ(contentOf(store("b") + "/ca.key"), "KEY B\n");
  }
}

TEST_F(SealedStoreTest, SealedChangesReachAStoreWithoutLocalChanges) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  ASSERT_TRUE(loadSealedStore(b, store("b")).ok());
  ASSERT_TRUE(writeAndSeal(b, "a", {{"admin.crt", "CERT\n"}}).ok());
  auto loaded = loadSealedStore(b, store("b"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE(*loaded);
  EXPECT_EQ(contentOf(store("b") + "/admin.crt"), "CERT\n");
}

TEST_F(SealedStoreTest, LocalChangesNotYetSealedAreKept) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  writeOnly("a", "admin.crt", "CERT\n");  // a pass that failed before sealing
  auto loaded = loadSealedStore(b, store("a"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_FALSE(*loaded);
  EXPECT_EQ(contentOf(store("a") + "/admin.crt"), "CERT\n");
}

TEST_F(SealedStoreTest, DivergenceIsDetected) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  ASSERT_TRUE(loadSealedStore(b, store("b")).ok());
  writeOnly("b", "leaf.crt", "B's LEAF\n");                              // never sealed
  ASSERT_TRUE(writeAndSeal(b, "a", {{"leaf.crt", "A's LEAF\n"}}).ok());  // sealed meanwhile
  auto loaded = loadSealedStore(b, store("b"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("diverged"), std::string::npos)
      << loaded.status().message();
  EXPECT_NE(loaded.status().message().find("kthw restore"), std::string::npos);
  EXPECT_EQ(contentOf(store("b") + "/leaf.crt"), "B's LEAF\n");

  // A store issued on its own before it ever saw the sealed file diverged too.
  writeOnly("c", "ca.key", "C's KEY\n");
  auto fresh = loadSealedStore(b, store("c"));
  ASSERT_FALSE(fresh.ok());
  EXPECT_NE(fresh.status().message().find("diverged"), std::string::npos);
}

// Machine B loaded the sealed file, then machine A sealed a newer one and a git pull brought it
// in before B's pass sealed: B refuses to overwrite it, as divergence. kthw restore may.
TEST_F(SealedStoreTest, ASealedFileNewerThanTheLoadedOneIsNotOverwritten) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"pki/ca.key", "CA KEY\n"}}).ok());
  ASSERT_TRUE(loadSealedStore(b, store("b")).ok());
  ASSERT_TRUE(writeAndSeal(b, "a", {{"pki/admin.crt", "FROM A\n"}}).ok());
  const std::string fromA = contentOf(sealed());
  auto fromB = writeAndSeal(b, "b", {{"pki/other.crt", "FROM B\n"}});
  ASSERT_FALSE(fromB.ok());
  EXPECT_NE(fromB.status().message().find("diverged"), std::string::npos)
      << fromB.status().message();
  EXPECT_EQ(contentOf(sealed()), fromA);
  auto restoring = sealStore(b, store("b"), output_, true);
  ASSERT_TRUE(restoring.ok()) << restoring.status().message();
  EXPECT_TRUE(*restoring);
  EXPECT_NE(contentOf(sealed()), fromA);
}

TEST_F(SealedStoreTest, IdentityThatOthersCanReadIsRefused) {
  const auto b = bundle(identity_);
  ASSERT_TRUE(writeAndSeal(b, "a", {{"ca.key", "KEY\n"}}).ok());
  ASSERT_EQ(::chmod(identity_.c_str(), 0640), 0);
  auto loaded = loadSealedStore(b, store("b"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("spec.sealedStore.identityFile " + identity_ +
                                           " has mode 0640"),
            std::string::npos)
      << loaded.status().message();
  EXPECT_FALSE(fs::exists(store("b")));
}

TEST_F(SealedStoreTest, IdentityInsideAGitWorkTreeIsRefused) {
  fs::create_directories(root_ + "/repo/.git");
  const std::string inRepo = writeIdentity("repo/identity.txt");
  auto written = writeAndSeal(bundle(inRepo), "a", {{"ca.key", "KEY\n"}});
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("is inside the git work tree " + root_ + "/repo"),
            std::string::npos)
      << written.status().message();
  EXPECT_FALSE(fs::exists(sealed()));
}

TEST_F(SealedStoreTest, NoSealedFileYetLeavesTheStoreAlone) {
  writeOnly("a", "ca.key", "KEY\n");
  auto loaded = loadSealedStore(bundle(identity_), store("a"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_FALSE(*loaded);
  EXPECT_FALSE(fs::exists(sealed()));
  EXPECT_EQ(contentOf(store("a") + "/ca.key"), "KEY\n");
}

TEST(SealedStorePath, RelativeToTheDeclaringDocument) {
  resources::SealedStore s;
  s.file = "secrets/store.age";
  s.marks.fields.emplace(
      "file", resources::Mark{std::make_shared<const std::string>("/repo/cluster/b.yaml"), 3, 11});
  EXPECT_EQ(sealedStorePath(s), "/repo/cluster/secrets/store.age");
  s.file = "/abs/store.age";
  EXPECT_EQ(sealedStorePath(s), "/abs/store.age");
}

}  // namespace
}  // namespace kthw::engine
