#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace kthw::runtime {

// etcd's member list (the JSON gateway's POST /v3/cluster/member/list) as "NAME PEERURL[,...]"
// lines, sorted; a member added but not started yet has no name and reads "(not started) ...".
// InvalidArgument when the answer is not a JSON object.
StatusOr<std::vector<std::string>> parseEtcdMembers(const std::string& json);

// "a, b, c": the names of parseEtcdMembers' lines.
std::string etcdMemberNames(const std::vector<std::string>& members);

// What may be shown of a raw value stored in etcd: for a value an encryption provider wrote,
// "k8s:enc:PROVIDER:v1:KEYNAME" (the key's name only when it is a plain word), else "". Never
// any byte of the data.
std::string encryptionPrefix(const std::string& value);

}  // namespace kthw::runtime
