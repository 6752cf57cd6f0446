// The age test vectors of C2SP/CCTV (tests/testdata/age/testkit, copied from age/testdata there
// without the ASCII-armor and post-quantum hybrid ones, which kthw does not implement): each
// file is a header of "key: value" lines, a blank line, then an age file, zlib-compressed when
// the header says so.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/age.h"

namespace kthw::runtime {
namespace {

namespace fs = std::filesystem;

struct Vector {
  std::string name;
  std::string expect;
  std::string payloadSha256;
  bool compressed = false;
  AgeIdentities identities;
  std::string file;
};

std::string readAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string inflate(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit(&z), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = ::inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

std::string sha256Hex(const std::string& data) {
  unsigned char md[32];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// Nothing when the vector uses what kthw does not implement.
std::optional<Vector> parseVector(const fs::path& path) {
  const std::string text = readAll(path);
  const size_t split = text.find("\n\n");
  Vector v;
  v.name = path.filename().string();
  std::istringstream header(text.substr(0, split));
  for (std::string line; std::getline(header, line);) {
    const size_t colon = line.find(": ");
    const std::string key = line.substr(0, colon);
    const std::string value = line.substr(colon + 2);
    if (key == "expect") v.expect = value;
    if (key == "payload") v.payloadSha256 = value;
    if (key == "compressed") v.compressed = value == "zlib";
    if (key == "armored") return std::nullopt;
    if (key == "passphrase") v.identities.passphrase = value;
    if (key == "identity") {
      auto id = parseAgeIdentityFile(value);
      if (!id.ok()) return std::nullopt;
      v.identities.x25519.push_back(id->front());
    }
  }
  v.file = text.substr(split + 2);
  if (v.compressed) v.file = inflate(v.file);
  return v;
}

// Where decryption stopped, from its message: in the payload, or before it.
bool isPayloadError(const Status& s) {
  return s.message().find("chunk") != std::string::npos ||
         s.message().find("payload") != std::string::npos;
}

TEST(AgeTestkit, EveryVectorKthwImplementsDecryptsAsExpected) {
  size_t ran = 0;
  for (const auto& entry : fs::directory_iterator(KTHW_SOURCE_DIR "/tests/testdata/age/testkit")) {
    if (entry.path().filename() == "README.md") continue;
    auto v = parseVector(entry.path());
    if (!v) continue;
    ++ran;
    SCOPED_TRACE(v->name + " (expect: " + v->expect + ")");
    auto out = ageDecrypt(v->file, v->identities);
    if (v->expect == "success") {
      ASSERT_TRUE(out.ok()) << out.status().message();
      EXPECT_EQ(sha256Hex(*out), v->payloadSha256);
      continue;
    }
    ASSERT_FALSE(out.ok()) << "decrypted a file the vector says must fail";
    const Status& s = out.status();
    if (v->expect == "no match") {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.message();
    } else if (v->expect == "HMAC failure") {
      EXPECT_NE(s.message().find("MAC"), std::string::npos) << s.message();
    } else if (v->expect == "header failure") {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
      EXPECT_FALSE(isPayloadError(s)) << s.message();
    } else if (v->expect == "payload failure") {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
      EXPECT_TRUE(isPayloadError(s)) << s.message();
    } else {
      ADD_FAILURE() << "unknown expectation";
    }
  }
  // The vectors are there and were read: a missing directory is a failure, not a pass.
  EXPECT_GE(ran, 90u);
}

}  // namespace
}  // namespace kthw::runtime
