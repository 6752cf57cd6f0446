#include "cli/apply_output.h"

#include <algorithm>

#include "cli/plan_output.h"

namespace kthw::cli {
namespace {

void str(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

const char* outcomeName(const engine::ActionResult& r) {
  if (r.skipped) return "skipped";
  return r.status.ok() ? "done" : "failed";
}

void writeAction(const reconcilers::Action& a, const char* outcome, const std::string& error,
                 JsonWriter& w) {
  w.StartObject();
  writeActionFieldsJson(a, false, w);
  w.Key("outcome");
  w.String(outcome);
  if (!error.empty()) {
    w.Key("error");
    str(w, error);
  }
  w.EndObject();
}

// What ran, then what was planned and did not run (a refused, locked or cancelled host).
void writeActions(const engine::HostOutcome& o, JsonWriter& w) {
  w.Key("actions");
  w.StartArray();
  std::vector<std::pair<std::string, std::string>> ran;
  for (const engine::ActionResult& r : o.results) {
    writeAction(r.action, outcomeName(r), r.status.message(), w);
    ran.emplace_back(r.action.target, r.action.summary);
  }
  for (const reconcilers::Action& a : o.plan.actions) {
    auto it = std::find(ran.begin(), ran.end(), std::make_pair(a.target, a.summary));
    if (it != ran.end()) {
      ran.erase(it);
      continue;
    }
    writeAction(a, "not-run", "", w);
  }
  w.EndArray();
}

void writeHost(const engine::HostOutcome& o, JsonWriter& w) {
  w.StartObject();
  writeHostFieldsJson(o, w);
  if (!o.refused.empty()) {
    w.Key("refused");
    str(w, o.refused);
  }
  if (!o.lockedBy.empty()) {
    w.Key("lockedBy");
    str(w, o.lockedBy);
  }
  w.Key("failed");
  w.Bool(o.failed());
  writeActions(o, w);
  w.Key("problems");
  w.StartArray();
  for (const std::string& p : o.plan.problems) str(w, p);
  w.EndArray();
  w.EndObject();
}

void writeRbac(const std::optional<RbacOutcome>& rbac, JsonWriter& w) {
  w.Key("rbac");
  if (!rbac) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("server");
  str(w, rbac->server);
  w.Key("identity");
  str(w, rbac->identity);
  w.Key("ok");
  w.Bool(rbac->status.ok());
  if (!rbac->status.ok()) {
    w.Key("error");
    str(w, rbac->status.message());
  }
  w.Key("writes");
  w.StartArray();
  for (const RbacWrite& write : rbac->writes) {
    w.StartObject();
    w.Key("action");
    str(w, write.action);
    w.Key("kind");
    str(w, write.kind);
    w.Key("name");
    str(w, write.name);
    w.Key("outcome");
    w.String(write.status.ok() ? "done" : "failed");
    if (!write.status.ok()) {
      w.Key("error");
      str(w, write.status.message());
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void writeConditions(const std::map<std::string, engine::ConditionSet>& conditions, JsonWriter& w) {
  w.Key("conditions");
  w.StartArray();
  for (const auto& [resource, set] : conditions) {
    w.StartObject();
    w.Key("resource");
    str(w, resource);
    const engine::Condition* ready = set.get("Ready");
    w.Key("ready");
    w.Bool(ready != nullptr && ready->status == engine::ConditionStatus::kTrue);
    w.Key("conditions");
    w.StartArray();
    for (const engine::Condition& c : set.all()) {
      w.StartObject();
      w.Key("type");
      str(w, c.type);
      w.Key("status");
      w.String(std::string(engine::conditionStatusName(c.status)).c_str());
      w.Key("reason");
      str(w, c.reason);
      w.Key("message");
      str(w, c.message);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void writeTotals(const ApplyTotals& t, JsonWriter& w) {
  w.Key("totals");
  w.StartObject();
  w.Key("hosts");
  w.Uint64(t.hosts);
  w.Key("changed");
  w.Uint64(t.changed);
  w.Key("actionsDone");
  w.Uint64(t.done);
  w.Key("actionsFailed");
  w.Uint64(t.failed);
  w.Key("actionsSkipped");
  w.Uint64(t.skipped);
  w.Key("notConverged");
  w.StartArray();
  for (const std::string& h : t.notConverged) str(w, h);
  w.EndArray();
  w.EndObject();
}

}  // namespace

ApplyTotals applyTotals(const std::vector<engine::HostOutcome>& outcomes) {
  ApplyTotals t;
  t.hosts = outcomes.size();
  for (const engine::HostOutcome& o : outcomes) {
    if (o.failed()) t.notConverged.push_back(o.host->name());
    if (!o.results.empty()) ++t.changed;
    for (const engine::ActionResult& r : o.results) {
      if (r.skipped) {
        ++t.skipped;
      } else if (r.status.ok()) {
        ++t.done;
      } else {
        ++t.failed;
      }
    }
  }
  return t;
}

std::string applyJson(const ApplyReport& report) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("exitCode");
  w.Int(report.exitCode);
  w.Key("issued");
  w.StartArray();
  for (const IssuedCertificate& c : report.issued) {
    w.StartObject();
    w.Key("bundle");
    str(w, c.bundle);
    w.Key("name");
    str(w, c.name);
    w.Key("reason");
    str(w, c.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("hosts");
  w.StartArray();
  for (const engine::HostOutcome& o : report.hosts) writeHost(o, w);
  w.EndArray();
  w.Key("refused");
  w.StartArray();
  for (const engine::HostOutcome& o : report.hosts) {
    if (!o.refused.empty()) str(w, o.plan.host);
  }
  w.EndArray();
  writeRbac(report.rbac, w);
  w.Key("routes");
  w.StartArray();
  for (const auto& [lb, route] : report.routes) {
    w.StartObject();
    w.Key("loadBalancer");
    str(w, lb);
    w.Key("answers");
    w.Bool(route.ok());
    if (!route.ok()) {
      w.Key("error");
      str(w, route.message());
    }
    w.EndObject();
  }
  w.EndArray();
  writeConditions(report.conditions, w);
  writeTotals(applyTotals(report.hosts), w);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace kthw::cli
