#include "runtime/etcd_answers.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

namespace kthw::runtime {

StatusOr<std::vector<std::string>> parseEtcdMembers(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return invalidArgument("etcd's member list is not JSON");
  std::vector<std::string> members;
  auto list = d.FindMember("members");
  if (list == d.MemberEnd() || !list->value.IsArray()) return members;
  for (const auto& m : list->value.GetArray()) {
    if (!m.IsObject()) continue;
    std::string peers;
    auto urls = m.FindMember("peerURLs");
    if (urls != m.MemberEnd() && urls->value.IsArray()) {
      for (const auto& u : urls->value.GetArray()) {
        if (u.IsString()) peers += std::string(peers.empty() ? "" : ",") + u.GetString();
      }
    }
    auto name = m.FindMember("name");
    const std::string n =
        name != m.MemberEnd() && name->value.IsString() ? name->value.GetString() : "";
    members.push_back((n.empty() ? "(not started)" : n) + " " + peers);
  }
  std::sort(members.begin(), members.end());
  return members;
}

std::string etcdMemberNames(const std::vector<std::string>& members) {
  std::string out;
  for (const std::string& m : members) {
    out += (out.empty() ? "" : ", ") + m.substr(0, m.rfind(' '));
  }
  return out;
}

std::string encryptionPrefix(const std::string& value) {
  if (!value.starts_with("k8s:enc:")) return "";
  // k8s:enc:PROVIDER:v1:KEYNAME:DATA
  size_t pos = 0;
  for (int colons = 0; colons < 4; ++colons) {
    pos = value.find(':', pos);
    if (pos == std::string::npos) return "k8s:enc:";
    ++pos;
  }
  const size_t end = value.find(':', pos);
  if (end == std::string::npos) return value.substr(0, pos);
  const std::string name = value.substr(pos, end - pos);
  auto plain = [](const std::string& word) {
    return !word.empty() && word.size() <= 64 && std::all_of(word.begin(), word.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
    });
  };
  const std::string provider = value.substr(8, value.find(':', 8) - 8);
  if (!plain(provider)) return "k8s:enc:";
  return value.substr(0, pos) + (plain(name) ? name : "");
}

}  // namespace kthw::runtime
