#include "rbac_api.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <ctime>

#include "runtime/base64.h"

namespace kthw::sim {
namespace {

using rapidjson::Document;
using rapidjson::Value;

constexpr const char* kGroup = "rbac.authorization.k8s.io";
constexpr const char* kGroupVersion = "rbac.authorization.k8s.io/v1";

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

std::string jsonString(const std::string& s) {
  Value v(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return serialize(v);
}

Response status(int code, const std::string& reason, const std::string& message) {
  return Response{
      code,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)" +
          jsonString(message) + R"(,"reason":")" + reason + R"(","code":)" + std::to_string(code) +
          "}",
      "application/json", ""};
}

std::string urlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::string queryParam(const std::string& target, const std::string& name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string::npos ? "" : urlDecode(pair.substr(eq + 1));
    start = end + 1;
  }
  return "";
}

// RFC 7386 merge patch; strategic-merge directives ($patch, $retainKeys, ...) are ignored, as the
// RBAC types declare no merge keys and their lists are replaced whole.
void mergePatch(Value& target, const Value& patch, Document::AllocatorType& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (auto it = patch.MemberBegin(); it != patch.MemberEnd(); ++it) {
    const std::string key = it->name.GetString();
    if (key.starts_with("$")) continue;
    if (it->value.IsNull()) {
      target.RemoveMember(it->name);
    } else if (auto existing = target.FindMember(it->name); existing != target.MemberEnd()) {
      mergePatch(existing->value, it->value, a);
    } else {
      Value k(it->name, a);
      Value v;
      v.CopyFrom(it->value, a);
      if (v.IsObject()) {
        Value empty(rapidjson::kObjectType);
        mergePatch(empty, it->value, a);
        v = std::move(empty);
      }
      target.AddMember(k, v, a);
    }
  }
}

const Value* member(const Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string stringAt(const Value& v, const char* a, const char* b = nullptr) {
  const Value* x = member(v, a);
  if (x != nullptr && b != nullptr) x = member(*x, b);
  return x != nullptr && x->IsString() ? x->GetString() : "";
}

std::string now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string uid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  char out[40];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

void setString(Value& obj, const char* key, const std::string& value, Document::AllocatorType& a) {
  Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), a);
  if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
    it->value = v;
  } else {
    obj.AddMember(Value(key, a), v, a);
  }
}

// The object as stored: metadata.resourceVersion is the store's, not part of the value.
std::string withResourceVersion(const std::string& stored, int64_t revision) {
  Document d;
  d.Parse(stored.c_str());
  if (!d.IsObject()) return stored;
  Value& meta = d["metadata"];
  setString(meta, "resourceVersion", std::to_string(revision), d.GetAllocator());
  return serialize(d);
}

std::string validate(const Document& d, const std::string& kind, const std::string& name) {
  if (!d.IsObject()) return "the body must be a JSON object";
  if (stringAt(d, "kind") != kind) return "kind must be " + kind;
  if (stringAt(d, "apiVersion") != kGroupVersion) {
    return std::string("apiVersion must be ") + kGroupVersion;
  }
  const std::string objectName = stringAt(d, "metadata", "name");
  if (objectName.empty()) return "metadata.name: Required value";
  if (!name.empty() && objectName != name) {
    return "metadata.name: the name of the object (" + objectName +
           ") does not match the name on the URL (" + name + ")";
  }
  if (kind == "ClusterRoleBinding") {
    const Value* ref = member(d, "roleRef");
    if (ref == nullptr || stringAt(*ref, "name").empty() || stringAt(*ref, "kind").empty()) {
      return "roleRef: Required value";
    }
  }
  if (kind == "ClusterRole") {
    if (const Value* rules = member(d, "rules"); rules != nullptr && rules->IsArray()) {
      for (const Value& rule : rules->GetArray()) {
        const Value* verbs = member(rule, "verbs");
        if (verbs == nullptr || !verbs->IsArray() || verbs->Empty()) {
          return "rules[].verbs: Required value: verbs must contain at least one value";
        }
      }
    }
  }
  return "";
}

}  // namespace

EtcdStore::EtcdStore(runtime::TlsClientConfig tls, std::vector<std::string> endpoints)
    : client_(std::move(tls)), endpoints_(std::move(endpoints)) {}

StatusOr<std::string> EtcdStore::call(const std::string& path, const std::string& body) {
  Status last = unavailable("no etcd endpoint");
  for (const std::string& e : endpoints_) {
    auto r = client_.request("POST", e + path, body, "application/json", std::chrono::seconds(3));
    if (r.ok() && r->status == 200) return r->body;
    last = r.ok() ? unavailable(e + path + ": HTTP " + std::to_string(r->status) + " " + r->body)
                  : r.status();
  }
  return last;
}

bool EtcdStore::reachable(std::string& problem) {
  auto r =
      call("/v3/kv/range", R"({"key":")" + runtime::base64Encode("/registry/health") + R"("})");
  if (!r.ok()) problem = r.status().message();
  return r.ok();
}

StatusOr<std::vector<EtcdStore::Item>> EtcdStore::range(const std::string& key, bool prefix) {
  std::string body = R"({"key":")" + runtime::base64Encode(key) + "\"";
  if (prefix) {
    std::string end = key;
    end.back() = static_cast<char>(end.back() + 1);
    body += R"(,"range_end":")" + runtime::base64Encode(end) + "\"";
  }
  auto r = call("/v3/kv/range", body + "}");
  if (!r.ok()) return r.status();
  Document d;
  d.Parse(r->c_str());
  std::vector<Item> items;
  if (const Value* kvs = member(d, "kvs"); kvs != nullptr && kvs->IsArray()) {
    for (const Value& kv : kvs->GetArray()) {
      items.push_back(Item{
          runtime::base64Decode(stringAt(kv, "key")), runtime::base64Decode(stringAt(kv, "value")),
          std::stoll(stringAt(kv, "mod_revision").empty() ? "0" : stringAt(kv, "mod_revision"))});
    }
  }
  return items;
}

StatusOr<int64_t> EtcdStore::putIf(const std::string& key, const std::string& value,
                                   int64_t expected) {
  const std::string body = R"({"compare":[{"key":")" + runtime::base64Encode(key) +
                           R"(","target":"MOD","mod_revision":")" + std::to_string(expected) +
                           R"(","result":"EQUAL"}],"success":[{"request_put":{"key":")" +
                           runtime::base64Encode(key) + R"(","value":")" +
                           runtime::base64Encode(value) + R"("}}]})";
  auto r = call("/v3/kv/txn", body);
  if (!r.ok()) return r.status();
  Document d;
  d.Parse(r->c_str());
  const Value* succeeded = member(d, "succeeded");
  if (succeeded == nullptr || !succeeded->IsBool() || !succeeded->GetBool()) {
    return Status(StatusCode::kAborted, "the object was modified");
  }
  return std::stoll(stringAt(d, "header", "revision"));
}

StatusOr<bool> EtcdStore::remove(const std::string& key) {
  auto r = call("/v3/kv/deleterange", R"({"key":")" + runtime::base64Encode(key) + R"("})");
  if (!r.ok()) return r.status();
  Document d;
  d.Parse(r->c_str());
  return stringAt(d, "deleted") == "1";
}

std::optional<Response> RbacApi::handle(const Request& r) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  const bool api =
      path == "/api" || path.starts_with("/api/") || path == "/apis" || path.starts_with("/apis/");
  if (!api) return std::nullopt;
  if (!r.caller.authenticated) return status(401, "Unauthorized", "Unauthorized");
  if (path == "/api") {
    return Response{200,
                    R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]})",
                    "application/json", ""};
  }
  if (path == "/api/v1") {
    return Response{200, R"({"kind":"APIResourceList","groupVersion":"v1","resources":[]})",
                    "application/json", ""};
  }
  const std::string group = std::string(R"({"name":")") + kGroup +
                            R"(","versions":[{"groupVersion":")" + kGroupVersion +
                            R"(","version":"v1"}],"preferredVersion":{"groupVersion":")" +
                            kGroupVersion + R"(","version":"v1"}})";
  if (path == "/apis") {
    return Response{200, R"({"kind":"APIGroupList","apiVersion":"v1","groups":[)" + group + "]}",
                    "application/json", ""};
  }
  if (path == std::string("/apis/") + kGroup) {
    return Response{200, R"({"kind":"APIGroup","apiVersion":"v1",)" + group.substr(1),
                    "application/json", ""};
  }
  const std::string base = std::string("/apis/") + kGroupVersion;
  if (path == base) {
    const char* verbs = R"(["create","delete","get","list","patch","update"])";
    return Response{
        200,
        std::string(R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":")") +
            kGroupVersion +
            R"(","resources":[{"name":"clusterroles","singularName":"clusterrole","namespaced":false,"kind":"ClusterRole","verbs":)" +
            verbs +
            R"(},{"name":"clusterrolebindings","singularName":"clusterrolebinding","namespaced":false,"kind":"ClusterRoleBinding","verbs":)" +
            verbs + "}]}",
        "application/json", ""};
  }
  if (!path.starts_with(base + "/")) {
    return status(404, "NotFound", "the server could not find the requested resource");
  }
  std::string rest = path.substr(base.size() + 1);
  const size_t slash = rest.find('/');
  const std::string plural = rest.substr(0, slash);
  const std::string name = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (plural != "clusterroles" && plural != "clusterrolebindings") {
    return status(404, "NotFound", "the server could not find the requested resource");
  }
  return resource(r, plural, name);
}

Response RbacApi::resource(const Request& r, const std::string& plural, const std::string& name) {
  const std::string kind = plural == "clusterroles" ? "ClusterRole" : "ClusterRoleBinding";
  const std::string gr = plural + "." + kGroup;
  const bool write = r.method != "GET";
  if (write && std::find(r.caller.groups.begin(), r.caller.groups.end(), "system:masters") ==
                   r.caller.groups.end()) {
    return status(403, "Forbidden",
                  gr + " is forbidden: User \"" + r.caller.user + "\" cannot " + r.method +
                      " resource \"" + plural + "\" in API group \"" + kGroup + "\"");
  }
  const std::string prefix = "/registry/" + plural + "/";
  if (r.method == "GET" && name.empty()) {
    auto items = store_.range(prefix, true);
    if (!items.ok()) return status(503, "ServiceUnavailable", items.status().message());
    const std::string selector = queryParam(r.target, "labelSelector");
    std::string out;
    int64_t maxRev = 0;
    for (const auto& item : *items) {
      Document d;
      d.Parse(item.value.c_str());
      bool matches = true;
      size_t start = 0;
      while (!selector.empty() && start <= selector.size()) {
        size_t end = selector.find(',', start);
        if (end == std::string::npos) end = selector.size();
        const std::string term = selector.substr(start, end - start);
        const size_t eq = term.find('=');
        const Value* labels = member(d["metadata"], "labels");
        const std::string want = eq == std::string::npos ? "" : term.substr(eq + 1);
        const Value* got =
            labels != nullptr ? member(*labels, term.substr(0, eq).c_str()) : nullptr;
        if (got == nullptr || !got->IsString() || got->GetString() != want) matches = false;
        start = end + 1;
      }
      maxRev = std::max(maxRev, item.modRevision);
      if (!matches) continue;
      out += (out.empty() ? "" : ",") + withResourceVersion(item.value, item.modRevision);
    }
    return Response{200,
                    R"({"kind":")" + kind + R"(List","apiVersion":")" + kGroupVersion +
                        R"(","metadata":{"resourceVersion":")" + std::to_string(maxRev) +
                        R"("},"items":[)" + out + "]}",
                    "application/json", ""};
  }
  if (name.empty() && r.method != "POST") {
    return status(405, "MethodNotAllowed", r.method + " needs an object name");
  }
  auto current = name.empty()
                     ? StatusOr<std::vector<EtcdStore::Item>>(std::vector<EtcdStore::Item>{})
                     : store_.range(prefix + name, false);
  if (!current.ok()) return status(503, "ServiceUnavailable", current.status().message());
  const bool exists = !current->empty();
  const std::string notFound = gr + " \"" + name + "\" not found";
  if (r.method == "GET") {
    if (!exists) return status(404, "NotFound", notFound);
    return Response{200, withResourceVersion(current->front().value, current->front().modRevision),
                    "application/json", ""};
  }
  if (r.method == "DELETE") {
    if (!exists) return status(404, "NotFound", notFound);
    auto removed = store_.remove(prefix + name);
    if (!removed.ok()) return status(503, "ServiceUnavailable", removed.status().message());
    return Response{
        200,
        R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":")" +
            name + R"(","group":")" + kGroup + R"(","kind":")" + plural + R"("}})",
        "application/json", ""};
  }
  Document body;
  if (r.method == "PATCH") {
    if (!exists) return status(404, "NotFound", notFound);
    if (r.contentType.find("json-patch+json") != std::string::npos) {
      return status(415, "UnsupportedMediaType",
                    "JSON patches are not simulated; use merge or strategic-merge");
    }
    body.Parse(current->front().value.c_str());
    Document patch;
    patch.Parse(r.body.c_str());
    if (patch.HasParseError()) return status(400, "BadRequest", "the patch is not valid JSON");
    mergePatch(body, patch, body.GetAllocator());
  } else {
    body.Parse(r.body.c_str());
    if (body.HasParseError()) return status(400, "BadRequest", "the body is not valid JSON");
  }
  const std::string objectName = stringAt(body, "metadata", "name");
  if (std::string problem = validate(body, kind, name); !problem.empty()) {
    return status(422, "Invalid", kind + " \"" + objectName + "\" is invalid: " + problem);
  }
  const std::string key = prefix + objectName;
  if (r.method == "POST") {
    auto again = store_.range(key, false);
    if (again.ok() && !again->empty()) {
      return status(409, "AlreadyExists", gr + " \"" + objectName + "\" already exists");
    }
  }
  auto& a = body.GetAllocator();
  Value& meta = body["metadata"];
  int64_t expected = 0;
  if (r.method != "POST") {
    Document old;
    old.Parse(current->front().value.c_str());
    expected = current->front().modRevision;
    const std::string sent = stringAt(body, "metadata", "resourceVersion");
    if (r.method == "PUT" && !sent.empty() && sent != std::to_string(expected)) {
      return status(409, "Conflict",
                    "Operation cannot be fulfilled on " + gr + " \"" + objectName +
                        "\": the object has been modified; please apply your changes to the "
                        "latest version and try again");
    }
    if (kind == "ClusterRoleBinding" && member(old, "roleRef") != nullptr &&
        serialize(old["roleRef"]) != serialize(body["roleRef"])) {
      return status(422, "Invalid",
                    "ClusterRoleBinding.rbac.authorization.k8s.io \"" + objectName +
                        "\" is invalid: roleRef: Invalid value: cannot change roleRef");
    }
    setString(meta, "uid", stringAt(old, "metadata", "uid"), a);
    setString(meta, "creationTimestamp", stringAt(old, "metadata", "creationTimestamp"), a);
  } else {
    setString(meta, "uid", uid(), a);
    setString(meta, "creationTimestamp", now(), a);
  }
  meta.RemoveMember("resourceVersion");
  const std::string stored = serialize(body);
  auto revision = store_.putIf(key, stored, expected);
  if (!revision.ok() && revision.status().code() == StatusCode::kAborted) {
    return status(409, r.method == "POST" ? "AlreadyExists" : "Conflict",
                  "Operation cannot be fulfilled on " + gr + " \"" + objectName +
                      "\": the object has been modified; please apply your changes to the "
                      "latest version and try again");
  }
  if (!revision.ok()) return status(503, "ServiceUnavailable", revision.status().message());
  return Response{r.method == "POST" ? 201 : 200, withResourceVersion(stored, *revision),
                  "application/json", ""};
}

}  // namespace kthw::sim
