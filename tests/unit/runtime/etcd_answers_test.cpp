// What kthw verify reads from etcd's answers, and what of a stored value it may show.
#include "runtime/etcd_answers.h"

#include <gtest/gtest.h>

namespace kthw::runtime {
namespace {

TEST(EtcdAnswers, MembersAreSortedWithTheirPeerUrlsAndAnUnstartedOneSaysSo) {
  auto m = parseEtcdMembers(
      R"({"header":{"cluster_id":"1"},"members":[)"
      R"({"ID":"2","name":"controller-1","peerURLs":["https://10.77.0.11:2380"]},)"
      R"({"ID":"3","peerURLs":["https://10.77.0.12:2380"]},)"
      R"({"ID":"1","name":"controller-0","peerURLs":["https://10.77.0.10:2380","https://h:2380"]}]})");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 3U);
  EXPECT_EQ((*m)[0], "(not started) https://10.77.0.12:2380");
  EXPECT_EQ((*m)[1], "controller-0 https://10.77.0.10:2380,https://h:2380");
  EXPECT_EQ((*m)[2], "controller-1 https://10.77.0.11:2380");
  EXPECT_EQ(etcdMemberNames(*m), "(not started), controller-0, controller-1");
}

TEST(EtcdAnswers, AnAnswerThatIsNotJsonIsAnError) {
  EXPECT_FALSE(parseEtcdMembers("<html>").ok());
  EXPECT_FALSE(parseEtcdMembers("[1]").ok());
  auto empty = parseEtcdMembers("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(EtcdAnswers, TheEncryptionPrefixNamesProviderAndKeyButNoDataByte) {
  const std::string data = std::string("\x01\x02secret-bytes:more", 19);
  EXPECT_EQ(encryptionPrefix("k8s:enc:aescbc:v1:key2:" + data), "k8s:enc:aescbc:v1:key2");
  EXPECT_EQ(encryptionPrefix("k8s:enc:secretbox:v1:k-1.a_b:" + data),
            "k8s:enc:secretbox:v1:k-1.a_b");
  // A key name that is not a plain word is left out; the data never appears.
  const std::string odd = encryptionPrefix("k8s:enc:aescbc:v1:s3cr3t value:" + data);
  EXPECT_EQ(odd, "k8s:enc:aescbc:v1:");
  EXPECT_EQ(encryptionPrefix("k8s:enc:aescbc:v1:" + std::string(200, 'x')), "k8s:enc:aescbc:v1:");
  EXPECT_EQ(encryptionPrefix("k8s:enc:"), "k8s:enc:");
  EXPECT_EQ(encryptionPrefix("{\"kind\":\"Secret\",\"data\":{\"password\":\"s3cr3t\"}}"), "");
  EXPECT_EQ(encryptionPrefix(""), "");
}

}  // namespace
}  // namespace kthw::runtime
