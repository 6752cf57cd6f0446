#include "cli/saved_plan.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "runtime/atomic_file.h"
#include "runtime/digest.h"
#include "runtime/host_files.h"

namespace kthw::cli {
namespace {

constexpr const char* kPlanKind = "KthwPlan";
constexpr int kPlanVersion = 1;

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void field(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string rolloutName(reconcilers::Action::Rollout r) {
  switch (r) {
    case reconcilers::Action::Rollout::kStart:
      return "start";
    case reconcilers::Action::Rollout::kRestart:
      return "restart";
    case reconcilers::Action::Rollout::kNone:
      break;
  }
  return "";
}

std::string contentSha256(const reconcilers::Action& a) {
  switch (a.type) {
    case reconcilers::ActionType::kWriteFile:
      return a.contentFile ? a.contentFile->sha256 : runtime::sha256Hex(a.content);
    case reconcilers::ActionType::kReplaceBlock:
      return runtime::sha256Hex(a.content);
    case reconcilers::ActionType::kRunCommand:
      return runtime::sha256Hex(runtime::commandScript(a.command));
    case reconcilers::ActionType::kEnsureDirectory:
    case reconcilers::ActionType::kRemoveFile:
      break;
  }
  return "";
}

std::string attributes(const reconcilers::Action& a) {
  if (a.type != reconcilers::ActionType::kWriteFile &&
      a.type != reconcilers::ActionType::kEnsureDirectory) {
    return "";
  }
  return a.file.owner + ":" + a.file.group + " " + runtime::formatMode(a.file.mode);
}

std::string str(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return "";
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// "ab12cd34ef56…" or "absent": enough of a hash to tell two apart in a message.
std::string shortSha(const std::optional<std::string>& sha) {
  if (!sha || sha->empty()) return "absent";
  return sha->substr(0, 12) + "\u2026";
}

bool sameKey(const PlannedAction& a, const PlannedAction& b) {
  return a.type == b.type && a.target == b.target && a.rollout == b.rollout &&
         a.resource == b.resource;
}

std::vector<std::string> actionChanges(const PlannedAction& saved, const PlannedAction& now) {
  std::vector<std::string> out;
  if (saved.ifCurrentSha256 != now.ifCurrentSha256) {
    out.push_back(now.target + " changed since the plan (sha256 " +
                  shortSha(saved.ifCurrentSha256) + " now " + shortSha(now.ifCurrentSha256) + ")");
  }
  if (saved.contentSha256 != now.contentSha256) {
    out.push_back("what " + now.summary + " would write changed since the plan (sha256 " +
                  shortSha(saved.contentSha256) + " now " + shortSha(now.contentSha256) + ")");
  }
  if (saved.attributes != now.attributes) {
    out.push_back("owner and mode planned for " + now.target + " changed (" + saved.attributes +
                  " now " + now.attributes + ")");
  }
  return out;
}

}  // namespace

const PlannedHost* SavedPlan::findHost(std::string_view name) const {
  for (const PlannedHost& h : hosts) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

PlannedAction plannedAction(const reconcilers::Action& a) {
  PlannedAction p;
  p.type = std::string(reconcilers::actionTypeName(a.type));
  p.resource = a.resource;
  p.target = a.target;
  p.summary = a.summary;
  p.reason = a.reason;
  p.rollout = rolloutName(a.rollout);
  p.attributes = attributes(a);
  p.ifCurrentSha256 = a.ifCurrentSha256;
  p.contentSha256 = contentSha256(a);
  return p;
}

PlannedHost plannedHost(const reconcilers::HostPlan& plan, bool reachable) {
  PlannedHost h{plan.host, reachable, {}};
  for (const reconcilers::Action& a : plan.actions) h.actions.push_back(plannedAction(a));
  return h;
}

std::vector<PlannedRbacAction> plannedRbac(const reconcilers::RbacPlan& plan) {
  std::vector<PlannedRbacAction> out;
  for (const reconcilers::RbacAction& a : plan.actions) {
    out.push_back({std::string(reconcilers::rbacActionName(a.type)), a.kind, a.name,
                   runtime::sha256Hex(a.body)});
  }
  return out;
}

std::string documentsSha256(const std::vector<std::string>& documentsJson) {
  std::string all;
  for (const std::string& d : documentsJson) all += d + "\n";
  return runtime::sha256Hex(all);
}

std::string savedPlanJson(const SavedPlan& plan) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  field(w, "kind", kPlanKind);
  w.Key("version");
  w.Int(kPlanVersion);
  field(w, "documentsSha256", plan.documentsSha256);
  w.Key("hosts");
  w.StartArray();
  for (const PlannedHost& h : plan.hosts) {
    w.StartObject();
    field(w, "name", h.name);
    w.Key("reachable");
    w.Bool(h.reachable);
    w.Key("actions");
    w.StartArray();
    for (const PlannedAction& a : h.actions) {
      w.StartObject();
      field(w, "type", a.type);
      field(w, "resource", a.resource);
      field(w, "target", a.target);
      field(w, "summary", a.summary);
      field(w, "reason", a.reason);
      field(w, "rollout", a.rollout);
      field(w, "attributes", a.attributes);
      w.Key("ifCurrentSha256");
      if (a.ifCurrentSha256) {
        w.String(a.ifCurrentSha256->c_str());
      } else {
        w.Null();
      }
      field(w, "contentSha256", a.contentSha256);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("rbac");
  if (!plan.rbac) {
    w.Null();
  } else {
    w.StartArray();
    for (const PlannedRbacAction& a : *plan.rbac) {
      w.StartObject();
      field(w, "type", a.type);
      field(w, "kind", a.kind);
      field(w, "name", a.name);
      field(w, "bodySha256", a.bodySha256);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(buffer.GetString()) + "\n";
}

StatusOr<SavedPlan> parseSavedPlan(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject() || str(doc, "kind") != kPlanKind) {
    return invalidArgument("not a plan saved by kthw diff --out-plan");
  }
  if (!doc.HasMember("version") || !doc["version"].IsInt() ||
      doc["version"].GetInt() != kPlanVersion) {
    return invalidArgument("a plan of another version; run kthw diff --out-plan again");
  }
  SavedPlan plan;
  plan.documentsSha256 = str(doc, "documentsSha256");
  if (doc.HasMember("hosts") && doc["hosts"].IsArray()) {
    for (const auto& h : doc["hosts"].GetArray()) {
      PlannedHost host;
      host.name = str(h, "name");
      host.reachable = !h.IsObject() || !h.HasMember("reachable") || h["reachable"].IsTrue();
      if (h.IsObject() && h.HasMember("actions") && h["actions"].IsArray()) {
        for (const auto& a : h["actions"].GetArray()) {
          PlannedAction p{str(a, "type"),       str(a, "resource"), str(a, "target"),
                          str(a, "summary"),    str(a, "reason"),   str(a, "rollout"),
                          str(a, "attributes"), std::nullopt,       str(a, "contentSha256")};
          if (a.IsObject() && a.HasMember("ifCurrentSha256") && a["ifCurrentSha256"].IsString()) {
            p.ifCurrentSha256 = a["ifCurrentSha256"].GetString();
          }
          host.actions.push_back(std::move(p));
        }
      }
      plan.hosts.push_back(std::move(host));
    }
  }
  if (doc.HasMember("rbac") && doc["rbac"].IsArray()) {
    plan.rbac.emplace();
    for (const auto& a : doc["rbac"].GetArray()) {
      plan.rbac->push_back({str(a, "type"), str(a, "kind"), str(a, "name"), str(a, "bodySha256")});
    }
  }
  return plan;
}

Status writeSavedPlan(const std::string& path, const SavedPlan& plan) {
  return runtime::writeFileAtomically(path, savedPlanJson(plan), 0600);
}

StatusOr<SavedPlan> readSavedPlan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto plan = parseSavedPlan(text.str());
  if (!plan.ok()) return invalidArgument(path + ": " + plan.status().message());
  return plan;
}

std::vector<std::string> hostPlanChanges(const PlannedHost* saved, const PlannedHost& now) {
  if (saved == nullptr) return {now.name + " was not in the plan"};
  if (!saved->reachable) return {now.name + " was unreachable when the plan was made"};
  std::vector<std::string> out;
  std::vector<char> matched(now.actions.size(), 0);
  std::vector<size_t> order;
  for (const PlannedAction& s : saved->actions) {
    size_t i = 0;
    while (i < now.actions.size() && (matched[i] != 0 || !sameKey(s, now.actions[i]))) ++i;
    if (i == now.actions.size()) {
      out.push_back(s.summary + " is no longer planned");
      continue;
    }
    matched[i] = 1;
    order.push_back(i);
    for (std::string& c : actionChanges(s, now.actions[i])) out.push_back(std::move(c));
  }
  for (size_t i = 0; i < now.actions.size(); ++i) {
    if (matched[i] == 0) out.push_back(now.actions[i].summary + " was not in the plan");
  }
  if (out.empty() && !std::is_sorted(order.begin(), order.end())) {
    out.push_back("the order of the actions changed");
  }
  return out;
}

std::vector<std::string> rbacPlanChanges(const std::optional<std::vector<PlannedRbacAction>>& saved,
                                         const std::vector<PlannedRbacAction>& now) {
  if (!saved) return {"the plan did not compare RBAC objects"};
  std::vector<std::string> out;
  auto describe = [](const PlannedRbacAction& a) { return a.type + " " + a.kind + "/" + a.name; };
  for (const PlannedRbacAction& s : *saved) {
    const auto it = std::find_if(now.begin(), now.end(), [&](const PlannedRbacAction& n) {
      return n.type == s.type && n.kind == s.kind && n.name == s.name;
    });
    if (it == now.end()) {
      out.push_back(describe(s) + " is no longer planned");
    } else if (it->bodySha256 != s.bodySha256) {
      out.push_back(s.kind + "/" + s.name + " changed since the plan");
    }
  }
  for (const PlannedRbacAction& n : now) {
    const bool known = std::any_of(saved->begin(), saved->end(), [&](const PlannedRbacAction& s) {
      return n.type == s.type && n.kind == s.kind && n.name == s.name;
    });
    if (!known) out.push_back(describe(n) + " was not in the plan");
  }
  return out;
}

}  // namespace kthw::cli
