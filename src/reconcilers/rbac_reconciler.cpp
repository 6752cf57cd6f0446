#include "reconcilers/rbac_reconciler.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "reconcilers/unified_diff.h"
#include "reconcilers/yaml_emitter.h"
#include "resources/json.h"
#include "runtime/url_path.h"

namespace kthw::reconcilers {
namespace {

using rapidjson::Document;
using rapidjson::Value;

std::string plural(const std::string& kind) {
  return kind == "ClusterRole" ? "clusterroles" : "clusterrolebindings";
}

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

const Value* member(const Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string stringAt(const Value& v, const char* a) {
  const Value* x = member(v, a);
  return x != nullptr && x->IsString() ? x->GetString() : "";
}

// Objects compare regardless of key order (lists keep theirs: the API keeps rule order).
void sortKeys(Value& v) {
  if (v.IsArray()) {
    for (Value& item : v.GetArray()) sortKeys(item);
    return;
  }
  if (!v.IsObject()) return;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) sortKeys(it->value);
  std::sort(v.MemberBegin(), v.MemberEnd(), [](const auto& a, const auto& b) {
    return std::string_view(a.name.GetString()) < std::string_view(b.name.GetString());
  });
}

// The parts of an object the desired state decides, normalized the way the API stores them.
std::string comparable(const Value& obj, const Value* desiredMeta) {
  Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  for (const char* field : {"rules", "aggregationRule", "roleRef"}) {
    if (const Value* v = member(obj, field); v != nullptr && !(v->IsArray() && v->Empty())) {
      out.AddMember(Value(field, a), Value(*v, a), a);
    }
  }
  if (const Value* subjects = member(obj, "subjects"); subjects != nullptr && subjects->IsArray()) {
    Value list(rapidjson::kArrayType);
    for (const Value& s : subjects->GetArray()) {
      Value copy(s, a);
      const std::string kind = stringAt(s, "kind");
      if (member(copy, "apiGroup") == nullptr && (kind == "User" || kind == "Group")) {
        copy.AddMember("apiGroup", "rbac.authorization.k8s.io", a);
      }
      if (kind == "ServiceAccount" && member(copy, "apiGroup") == nullptr) {
        copy.AddMember("apiGroup", "", a);
      }
      list.PushBack(copy, a);
    }
    if (!list.Empty()) out.AddMember("subjects", list, a);
  }
  // Only the labels and annotations the desired state sets count.
  const Value* meta = member(obj, "metadata");
  for (const char* field : {"labels", "annotations"}) {
    const Value* want = desiredMeta != nullptr ? member(*desiredMeta, field) : nullptr;
    if (want == nullptr || !want->IsObject()) continue;
    const Value* have = meta != nullptr ? member(*meta, field) : nullptr;
    Value picked(rapidjson::kObjectType);
    for (auto it = want->MemberBegin(); it != want->MemberEnd(); ++it) {
      const Value* v = have != nullptr ? member(*have, it->name.GetString()) : nullptr;
      if (v != nullptr) picked.AddMember(Value(it->name, a), Value(*v, a), a);
    }
    out.AddMember(Value(field, a), picked, a);
  }
  sortKeys(out);
  return serialize(out);
}

std::string objectYaml(const std::string& json) {
  Document d;
  d.Parse(json.c_str());
  if (d.HasParseError()) return json + "\n";
  for (const char* noisy : {"resourceVersion", "uid", "creationTimestamp", "managedFields"}) {
    if (d.IsObject() && d.HasMember("metadata") && d["metadata"].IsObject()) {
      d["metadata"].RemoveMember(noisy);
    }
  }
  if (d.IsObject() && d.HasMember("metadata") && d["metadata"].HasMember("annotations")) {
    d["metadata"]["annotations"].RemoveMember("kubectl.kubernetes.io/last-applied-configuration");
  }
  auto text = emitYaml(d);
  return text.ok() ? *text : json + "\n";
}

std::string apiError(const runtime::HttpResponse& r) {
  Document d;
  d.Parse(r.body.c_str());
  const std::string message = d.IsObject() ? stringAt(d, "message") : "";
  return "HTTP " + std::to_string(r.status) + (message.empty() ? "" : ": " + message);
}

}  // namespace

std::string jsonToYaml(const std::string& json) { return objectYaml(json); }

StatusOr<std::string> rbacPath(const std::string& kind, const std::string& name) {
  std::vector<std::string> segments = {"apis", kRbacGroup, kRbacVersion, plural(kind)};
  if (!name.empty()) segments.push_back(name);
  return runtime::urlPath(segments);
}

std::string rbacActionName(RbacAction::Type t) {
  switch (t) {
    case RbacAction::Type::kDelete:
      return "delete";
    case RbacAction::Type::kCreate:
      return "create";
    case RbacAction::Type::kUpdate:
      return "update";
    case RbacAction::Type::kRecreate:
      return "recreate";
  }
  return "?";
}

std::string desiredRbacJson(const resources::RbacObject& object) {
  Document d;
  d.Parse(resources::toJson(object.document).c_str());
  auto& a = d.GetAllocator();
  // The body says the version of the path it is sent to (rbacPath), whatever version the
  // document was written in; the desired state reads v1beta1 as v1 already.
  if (d.HasMember("apiVersion")) {
    d["apiVersion"].SetString(kRbacApiVersion, a);
  } else {
    d.AddMember("apiVersion", Value(kRbacApiVersion, a), a);
  }
  Value& meta = d["metadata"];
  meta.RemoveMember("namespace");  // cluster-scoped; the seeds write namespace: ""
  if (!meta.HasMember("labels")) meta.AddMember("labels", Value(rapidjson::kObjectType), a);
  Value& labels = meta["labels"];
  labels.RemoveMember(kManagedByLabel);
  Value key(kManagedByLabel, a);
  Value value("kthw", a);
  labels.AddMember(key, value, a);
  return serialize(d);
}

bool rbacSemanticallyEqual(const std::string& desiredJson, const std::string& observedJson) {
  Document want;
  want.Parse(desiredJson.c_str());
  Document have;
  have.Parse(observedJson.c_str());
  const Value* meta = member(want, "metadata");
  return comparable(want, meta) == comparable(have, meta);
}

std::string rbacKey(const std::string& kind, const std::string& name) { return kind + "/" + name; }

RbacPlan diffRbac(const resources::DesiredState& state, const ObservedRbac& observed) {
  RbacPlan plan;
  std::set<std::string> desired;
  for (const resources::RbacObject& o : state.rbac) desired.insert(rbacKey(o.kind, o.name()));
  for (const auto& [key, json] : observed.managed) {
    if (desired.count(key) != 0) continue;
    const size_t slash = key.find('/');
    plan.actions.push_back({RbacAction::Type::kDelete, key.substr(0, slash), key.substr(slash + 1),
                            "managed by kthw and no longer in the desired state",
                            unifiedDiff(objectYaml(json), "", key), ""});
  }
  for (const resources::RbacObject& o : state.rbac) {
    const std::string want = desiredRbacJson(o);
    const std::string label = rbacKey(o.kind, o.name());
    auto got = observed.objects.find(label);
    if (got == observed.objects.end() || !got->second.has_value()) {
      plan.actions.push_back({RbacAction::Type::kCreate, o.kind, o.name(), "absent",
                              unifiedDiff("", objectYaml(want), label), want});
      continue;
    }
    const std::string& have = *got->second;
    if (rbacSemanticallyEqual(want, have)) continue;
    Document haveDoc;
    haveDoc.Parse(have.c_str());
    Document wantDoc;
    wantDoc.Parse(want.c_str());
    const Value* haveRef = member(haveDoc, "roleRef");
    const Value* wantRef = member(wantDoc, "roleRef");
    const bool roleRefChanged = o.kind == "ClusterRoleBinding" && haveRef != nullptr &&
                                (wantRef == nullptr || serialize(*haveRef) != serialize(*wantRef));
    plan.actions.push_back(
        {roleRefChanged ? RbacAction::Type::kRecreate : RbacAction::Type::kUpdate, o.kind, o.name(),
         roleRefChanged ? "roleRef differs, and it is immutable: delete and recreate" : "differs",
         unifiedDiff(objectYaml(have), objectYaml(want), label), want});
  }
  return plan;
}

StatusOr<ObservedRbac> observeRbac(const resources::DesiredState& state, runtime::ApiClient& api) {
  ObservedRbac observed;
  for (const std::string kind : {"ClusterRoleBinding", "ClusterRole"}) {
    auto collection = rbacPath(kind);
    if (!collection.ok()) return collection.status();
    auto list = api.call("GET", *collection + "?labelSelector=" +
                                    runtime::percentEncode(std::string(kManagedByLabel) + "=kthw"));
    if (!list.ok()) return list.status();
    if (list->status != 200) return unavailable("LIST " + plural(kind) + ": " + apiError(*list));
    Document d;
    d.Parse(list->body.c_str());
    const Value* items = member(d, "items");
    if (items == nullptr || !items->IsArray()) continue;
    for (const Value& item : items->GetArray()) {
      const Value* meta = member(item, "metadata");
      const std::string name = meta != nullptr ? stringAt(*meta, "name") : "";
      if (name.empty()) continue;
      observed.managed.emplace_back(rbacKey(kind, name), serialize(item));
    }
  }
  for (const resources::RbacObject& o : state.rbac) {
    auto path = rbacPath(o.kind, o.name());
    if (!path.ok()) return path.status();
    auto got = api.call("GET", *path);
    if (!got.ok()) return got.status();
    const std::string label = rbacKey(o.kind, o.name());
    if (got->status == 404) {
      observed.objects[label] = std::nullopt;
      continue;
    }
    if (got->status != 200) return unavailable("GET " + label + ": " + apiError(*got));
    observed.objects[label] = got->body;
  }
  return observed;
}

StatusOr<RbacPlan> planRbac(const resources::DesiredState& state, runtime::ApiClient& api) {
  auto observed = observeRbac(state, api);
  if (!observed.ok()) return observed.status();
  return diffRbac(state, *observed);
}

std::vector<Status> applyRbac(const RbacPlan& plan, runtime::ApiClient& api) {
  std::vector<Status> results;
  for (const RbacAction& a : plan.actions) {
    auto objectPath = rbacPath(a.kind, a.name);
    auto collectionPath = rbacPath(a.kind);
    if (!objectPath.ok() || !collectionPath.ok()) {
      results.push_back(objectPath.ok() ? collectionPath.status() : objectPath.status());
      continue;
    }
    const std::string& path = *objectPath;
    const std::string& collection = *collectionPath;
    auto check = [&](const StatusOr<runtime::HttpResponse>& r, std::initializer_list<int> ok) {
      if (!r.ok()) return r.status();
      for (int code : ok) {
        if (r->status == code) return okStatus();
      }
      return Status(r->status == 409 ? StatusCode::kAborted : StatusCode::kFailedPrecondition,
                    a.kind + "/" + a.name + ": " + apiError(*r));
    };
    Status s;
    switch (a.type) {
      case RbacAction::Type::kDelete:
        s = check(api.call("DELETE", path), {200, 202, 404});
        break;
      case RbacAction::Type::kCreate:
        s = check(api.call("POST", collection, a.body), {201, 200});
        break;
      case RbacAction::Type::kRecreate:
        s = check(api.call("DELETE", path), {200, 202, 404});
        if (s.ok()) s = check(api.call("POST", collection, a.body), {201, 200});
        break;
      case RbacAction::Type::kUpdate:
        // PUT with the resourceVersion just read; a conflict means someone else wrote in
        // between: read again and retry.
        for (int attempt = 0; attempt < 3; ++attempt) {
          auto current = api.call("GET", path);
          if (!current.ok() || current->status != 200) {
            s = current.ok() ? Status(StatusCode::kNotFound, a.kind + "/" + a.name + " vanished")
                             : current.status();
            break;
          }
          Document have;
          have.Parse(current->body.c_str());
          Document body;
          body.Parse(a.body.c_str());
          body["metadata"].AddMember(
              "resourceVersion",
              Value(stringAt(have["metadata"], "resourceVersion").c_str(), body.GetAllocator()),
              body.GetAllocator());
          s = check(api.call("PUT", path, serialize(body)), {200});
          if (s.code() != StatusCode::kAborted) break;
        }
        break;
    }
    results.push_back(s);
  }
  return results;
}

}  // namespace kthw::reconcilers
