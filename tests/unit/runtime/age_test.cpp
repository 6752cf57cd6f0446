#include "runtime/age.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

namespace kthw::runtime {
namespace {

const std::string kFixtures = KTHW_SOURCE_DIR "/tests/testdata/age/";
// A small work factor: the tests check the format, not scrypt's cost.
constexpr int kFastLog2N = 10;

std::string fixture(const std::string& name) {
  std::ifstream in(kFixtures + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string twoChunks() {
  std::string out(131072, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>((i * 7 + 3) % 256);
  return out;
}

AgeIdentities fixtureIdentity() {
  auto keys = parseAgeIdentityFile(fixture("x25519-key.txt"));
  EXPECT_TRUE(keys.ok()) << keys.status().message();
  return {keys.ok() ? *keys : std::vector<X25519Key>{}, std::nullopt};
}

struct KeyPair {
  X25519Key secret;
  X25519Key recipient;
};

KeyPair freshKeyPair() {
  auto secret = generateX25519Key();
  EXPECT_TRUE(secret.ok());
  auto pub = x25519PublicKey(*secret);
  EXPECT_TRUE(pub.ok());
  return {*secret, *pub};
}

AgeRecipients passphraseOnly(const std::string& p) {
  AgeRecipients r;
  r.passphrase = p;
  r.scryptLog2N = kFastLog2N;
  return r;
}

std::string toX25519(std::string_view plaintext, const KeyPair& k) {
  auto file = ageEncrypt(plaintext, {{k.recipient}, std::nullopt});
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? *file : "";
}

std::string errorOf(const StatusOr<std::string>& s) {
  EXPECT_FALSE(s.ok()) << "decrypted what it should have refused";
  return s.ok() ? "" : s.status().message();
}

TEST(AgeKeys, FixtureIdentityHasThePublicKeyAgeKeygenPrinted) {
  const std::string text = fixture("x25519-key.txt");
  const size_t at = text.find("# public key: ");
  ASSERT_NE(at, std::string::npos);
  const std::string printed = text.substr(at + 14, text.find('\n', at) - at - 14);
  auto ids = fixtureIdentity();
  ASSERT_EQ(ids.x25519.size(), 1u);
  auto pub = x25519PublicKey(ids.x25519.front());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(formatAgeRecipient(*pub), printed);
  auto parsed = parseAgeRecipient(printed);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, *pub);
  const std::string line = text.substr(text.find("AGE-SECRET-KEY-1"), 74);
  EXPECT_EQ(formatAgeIdentity(ids.x25519.front()), line);
}

TEST(AgeKeys, RefusesMalformedRecipients) {
  const KeyPair k = freshKeyPair();
  std::string good = formatAgeRecipient(k.recipient);
  ASSERT_TRUE(parseAgeRecipient(good).ok());
  std::string badChecksum = good;
  badChecksum.back() = badChecksum.back() == 'q' ? 'p' : 'q';
  EXPECT_FALSE(parseAgeRecipient(badChecksum).ok());
  EXPECT_FALSE(parseAgeRecipient(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(parseAgeRecipient(formatAgeIdentity(k.secret)).ok());
  EXPECT_FALSE(parseAgeRecipient("").ok());
  EXPECT_FALSE(parseAgeRecipient("age1").ok());
  auto file = parseAgeRecipientsFile("# backups\n\n" + good + "\n");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->size(), 1u);
  EXPECT_FALSE(parseAgeRecipientsFile("# nothing\n").ok());
}

TEST(AgeKeys, IdentityFileErrorsNeverQuoteTheLine) {
  const KeyPair k = freshKeyPair();
  std::string secret = formatAgeIdentity(k.secret);
  secret[20] = secret[20] == 'Q' ? 'P' : 'Q';
  auto parsed = parseAgeIdentityFile("# comment\n" + secret + "\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(parsed.status().message().find(secret.substr(16, 20)), std::string::npos);
  EXPECT_FALSE(parseAgeIdentityFile("# only comments\n").ok());
}

TEST(AgeFormat, RoundTripsX25519AtChunkBoundaries) {
  const KeyPair a = freshKeyPair();
  const KeyPair b = freshKeyPair();
  for (size_t size : {0, 1, 65535, 65536, 65537, 131072, 200000}) {
    std::string plain(size, '\0');
    for (size_t i = 0; i < size; ++i) plain[i] = static_cast<char>(i * 31 + size);
    auto file = ageEncrypt(plain, {{a.recipient, b.recipient}, std::nullopt});
    ASSERT_TRUE(file.ok()) << file.status().message();
    for (const KeyPair& k : {a, b}) {
      auto back = ageDecrypt(*file, {{k.secret}, std::nullopt});
      ASSERT_TRUE(back.ok()) << size << ": " << back.status().message();
      EXPECT_EQ(*back, plain) << size;
    }
  }
}

TEST(AgeFormat, WritesTheHeaderTheSpecDescribes) {
  const KeyPair k = freshKeyPair();
  const std::string file = toX25519("x", k);
  std::istringstream lines(file);
  std::string version, stanza, body, mac;
  std::getline(lines, version);
  std::getline(lines, stanza);
  std::getline(lines, body);
  std::getline(lines, mac);
  EXPECT_EQ(version, "age-encryption.org/v1");
  ASSERT_TRUE(stanza.starts_with("-> X25519 "));
  EXPECT_EQ(stanza.size(), 10u + 43u);  // a 32-byte share, unpadded
  EXPECT_EQ(body.size(), 43u);          // 16-byte file key + 16-byte tag
  ASSERT_TRUE(mac.starts_with("--- "));
  EXPECT_EQ(mac.size(), 4u + 43u);
  // 16-byte nonce, then one chunk: 1 byte + tag.
  EXPECT_EQ(file.size(), version.size() + stanza.size() + body.size() + mac.size() + 4 + 16 + 17);
}

TEST(AgeFormat, RoundTripsAPassphrase) {
  auto file = ageEncrypt("store", passphraseOnly("correct horse"));
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_NE(file->find("-> scrypt "), std::string::npos);
  auto back = ageDecrypt(*file, {{}, "correct horse"});
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, "store");
  auto wrong = ageDecrypt(*file, {{}, "wrong horse"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(wrong.status().message().find("horse"), std::string::npos);
  auto none = ageDecrypt(*file, {{freshKeyPair().secret}, std::nullopt});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("passphrase"), std::string::npos);
}

TEST(AgeFormat, RefusesPassphraseBesideRecipients) {
  AgeRecipients r = passphraseOnly("p");
  r.x25519.push_back(freshKeyPair().recipient);
  EXPECT_FALSE(ageEncrypt("x", r).ok());
  EXPECT_FALSE(ageEncrypt("x", {}).ok());
}

TEST(AgeFormat, WrongIdentityIsPermissionDenied) {
  const std::string file = toX25519("secret", freshKeyPair());
  auto other = ageDecrypt(file, {{freshKeyPair().secret}, std::nullopt});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), StatusCode::kPermissionDenied);
  auto passphraseOnly = ageDecrypt(file, {{}, "p"});
  ASSERT_FALSE(passphraseOnly.ok());
  EXPECT_NE(passphraseOnly.status().message().find("identity"), std::string::npos);
}

TEST(AgeInterop, DecryptsWhatAgeWroteToAnX25519Recipient) {
  const AgeIdentities id = fixtureIdentity();
  auto hello = ageDecrypt(fixture("hello.x25519.age"), id);
  ASSERT_TRUE(hello.ok()) << hello.status().message();
  EXPECT_EQ(*hello, fixture("hello.txt"));
  auto empty = ageDecrypt(fixture("empty.x25519.age"), id);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(*empty, "");
  auto chunks = ageDecrypt(fixture("two-chunks.x25519.age"), id);
  ASSERT_TRUE(chunks.ok()) << chunks.status().message();
  EXPECT_EQ(*chunks, twoChunks());
}

TEST(AgeInterop, DecryptsWhatAgeWroteWithAPassphrase) {
  auto hello = ageDecrypt(fixture("hello.scrypt.age"), {{}, "pw-kthw"});
  ASSERT_TRUE(hello.ok()) << hello.status().message();
  EXPECT_EQ(*hello, fixture("hello.txt"));
}

TEST(AgeRejects, AChangedHeader) {
  const KeyPair k = freshKeyPair();
  std::string file = toX25519("payload", k);
  // An extra stanza of an unknown type is skipped by the reader, but the MAC covers it.
  const size_t mac = file.find("\n--- ") + 1;
  file.insert(mac, "-> grease x\n\n");
  EXPECT_NE(errorOf(ageDecrypt(file, {{k.secret}, std::nullopt})).find("MAC"), std::string::npos);
}

TEST(AgeRejects, AFlippedPayloadByte) {
  const KeyPair k = freshKeyPair();
  std::string file = toX25519("payload", k);
  file[file.size() - 20] ^= 1;
  EXPECT_NE(errorOf(ageDecrypt(file, {{k.secret}, std::nullopt})).find("authenticate"),
            std::string::npos);
}

TEST(AgeRejects, TruncatedPayloads) {
  const AgeIdentities id = fixtureIdentity();
  const std::string file = fixture("two-chunks.x25519.age");
  // Without its second chunk the first is final but not marked last.
  const std::string oneChunk = file.substr(0, file.size() - (65536 + 16));
  EXPECT_NE(errorOf(ageDecrypt(oneChunk, id)).find("not marked last"), std::string::npos);
  errorOf(ageDecrypt(file.substr(0, file.size() - 1), id));
  const size_t payload = file.find("\n--- ") + 5 + 43 + 1;
  errorOf(ageDecrypt(file.substr(0, payload + 16), id));  // the nonce, no chunk
  errorOf(ageDecrypt(file.substr(0, payload + 8), id));
  errorOf(ageDecrypt(file.substr(0, payload - 1), id));
}

TEST(AgeRejects, TrailingData) {
  const AgeIdentities id = fixtureIdentity();
  EXPECT_NE(errorOf(ageDecrypt(fixture("two-chunks.x25519.age") + std::string(17, 'x'), id))
                .find("after its final chunk"),
            std::string::npos);
  errorOf(ageDecrypt(fixture("hello.x25519.age") + "x", id));
}

TEST(AgeRejects, AnEmptyFinalChunkAfterData) {
  const KeyPair k = freshKeyPair();
  auto file = ageEncryptForTesting(std::string(65536, 'a'), {{k.recipient}, std::nullopt},
                                   {.emptyFinalChunk = true});
  ASSERT_TRUE(file.ok());
  EXPECT_NE(errorOf(ageDecrypt(*file, {{k.secret}, std::nullopt})).find("empty chunk"),
            std::string::npos);
}

TEST(AgeRejects, AFinalChunkNotMarkedLast) {
  const KeyPair k = freshKeyPair();
  auto file =
      ageEncryptForTesting("short", {{k.recipient}, std::nullopt}, {.finalChunkUnmarked = true});
  ASSERT_TRUE(file.ok());
  EXPECT_NE(errorOf(ageDecrypt(*file, {{k.secret}, std::nullopt})).find("not marked last"),
            std::string::npos);
}

TEST(AgeRejects, ScryptBesideAnotherStanza) {
  std::string file = fixture("hello.scrypt.age");
  const std::string x25519 = fixture("hello.x25519.age");
  const size_t from = x25519.find("-> X25519");
  const std::string stanza = x25519.substr(from, x25519.find("\n---") + 1 - from);
  file.insert(file.find("-> scrypt"), stanza);
  EXPECT_NE(errorOf(ageDecrypt(file, {{}, "pw-kthw"})).find("beside others"), std::string::npos);
}

TEST(AgeRejects, AWorkFactorAboveTheMaximum) {
  std::string file = fixture("hello.scrypt.age");
  const size_t at = file.find(" 18\n");
  ASSERT_NE(at, std::string::npos);
  file.replace(at, 4, " 23\n");
  EXPECT_NE(errorOf(ageDecrypt(file, {{}, "pw-kthw"})).find("work factor"), std::string::npos);
  file.replace(at, 4, " 018\n");
  errorOf(ageDecrypt(file, {{}, "pw-kthw"}));
}

TEST(AgeRejects, NonCanonicalBase64) {
  const AgeIdentities id = fixtureIdentity();
  const std::string file = fixture("hello.x25519.age");
  const size_t bodyEnd = file.find("\n---");
  // 43 characters carry 258 bits for 256: the last one's low two bits must be zero.
  std::string loose = file;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char& last = loose[bodyEnd - 1];
  last = alphabet[alphabet.find(last) | 1];
  EXPECT_NE(errorOf(ageDecrypt(loose, id)).find("base64"), std::string::npos);
  std::string padded = file;
  padded.insert(bodyEnd, "=");
  errorOf(ageDecrypt(padded, id));
  EXPECT_FALSE(ageBase64Decode("QQ==").has_value());
  EXPECT_FALSE(ageBase64Decode("QR").has_value());
  EXPECT_EQ(ageBase64Decode("QQ"), "A");
  EXPECT_EQ(ageBase64Encode("A"), "QQ");
}

TEST(AgeRejects, NeverCrashesOnRandomOrMutatedInput) {
  const AgeIdentities id = fixtureIdentity();
  const std::string valid = fixture("hello.x25519.age");
  std::mt19937 rng(18);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    if (round % 4 == 0) {
      input.resize(static_cast<size_t>(rng() % 400));
      for (char& c : input) c = static_cast<char>(byte(rng));
      if (round % 8 == 0) input = "age-encryption.org/v1\n" + input;
    } else {
      input = valid;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % input.size();
        switch (rng() % 3) {
          case 0:
            input[at] = static_cast<char>(input[at] ^ (1 << (rng() % 8)));
            break;
          case 1:
            input.erase(at, 1 + rng() % 8);
            break;
          default:
            input.insert(at, 1, static_cast<char>(byte(rng)));
        }
        if (input.empty()) input = "x";
      }
    }
    auto out = ageDecrypt(input, id);
    if (input != valid) {
      EXPECT_FALSE(out.ok()) << "round " << round << " accepted a changed file";
    }
  }
}

}  // namespace
}  // namespace kthw::runtime
