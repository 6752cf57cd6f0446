// kthw run's endpoints: /healthz, /readyz, /metrics and /status, and the metrics it keeps.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "engine/daemon.h"

namespace kthw::engine {
namespace {

using Json = rapidjson::Writer<rapidjson::StringBuffer>;

runtime::HttpResponse reply(int status, const std::string& contentType, std::string body) {
  runtime::HttpResponse r;
  r.status = status;
  r.contentType = contentType;
  r.body = std::move(body);
  return r;
}

std::string timestamp(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return "";
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::string kindOf(const std::string& key) { return key.substr(0, key.find('/')); }
std::string nameOf(const std::string& key) { return key.substr(key.find('/') + 1); }

void declareDaemonMetrics(runtime::Metrics& m) {
  using runtime::Metrics;
  m.declare("kthw_reconcile_total", Metrics::Type::kCounter,
            "Reconciles of a resource, by kind and result (success, retry, terminal).");
  m.declare("kthw_reconcile_duration_seconds", Metrics::Type::kHistogram,
            "Wall time of the pass that reconciled a resource, by kind.",
            {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300});
  m.declare("kthw_drift_changes", Metrics::Type::kGauge,
            "Changes the last pass found needed, per resource and host (0: converged).");
  m.declare("kthw_certificate_expiry_seconds", Metrics::Type::kGauge,
            "Seconds until a certificate of a bundle expires.");
  m.declare("kthw_queue_depth", Metrics::Type::kGauge, "Keys queued, ready or backing off.");
  m.declare("kthw_queue_processing", Metrics::Type::kGauge, "Keys being reconciled.");
  m.declare("kthw_synced_revision_info", Metrics::Type::kGauge,
            "The desired state in force: its git revision (empty outside git).");
  m.declare("kthw_desired_state_rejected", Metrics::Type::kGauge,
            "1 when the newest desired state on disk was rejected as invalid.");
  m.declare("kthw_host_reachable", Metrics::Type::kGauge,
            "1 when the last pass observed the host.");
  m.declare("kthw_resource_ready", Metrics::Type::kGauge,
            "1 when the resource's Ready condition is True.");
  m.declare("kthw_passes_total", Metrics::Type::kCounter, "Passes run, by worker.");
}

bool Daemon::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state_) return false;
  return std::all_of(resources_.begin(), resources_.end(),
                     [](const auto& r) { return r.second.reconciled; });
}

runtime::HttpResponse Daemon::handle(const std::string& path) {
  if (path == "/healthz" || path == "/livez") {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (now - heartbeat_.load() > 30000) return reply(503, "text/plain", "main loop stalled\n");
    return reply(200, "text/plain", "ok\n");
  }
  if (path == "/readyz") {
    std::lock_guard<std::mutex> lock(mu_);
    if (!state_) {
      return reply(503, "text/plain",
                   rejected_ ? "no valid desired state: " + std::to_string(rejected_->errorCount) +
                                   " error(s)\n"
                             : "no desired state loaded\n");
    }
    std::string waiting;
    for (const auto& [key, rs] : resources_) {
      if (!rs.reconciled) waiting += " " + key;
    }
    if (!waiting.empty()) return reply(503, "text/plain", "not yet reconciled:" + waiting + "\n");
    return reply(200, "text/plain", "ok\n");
  }
  if (path == "/metrics")
    return reply(200, "text/plain; version=0.0.4; charset=utf-8", metricsText());
  if (path == "/status") return reply(200, "application/json", statusJson());
  return reply(404, "text/plain", "not found: try /healthz, /readyz, /metrics or /status\n");
}

std::string Daemon::metricsText() {
  metrics_.set("kthw_queue_depth", {}, static_cast<double>(queue_.depth()));
  metrics_.set("kthw_queue_processing", {}, static_cast<double>(queue_.processing()));
  return metrics_.render();
}

std::string Daemon::statusJson() {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  auto str = [&](const char* key, const std::string& v) {
    w.Key(key);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  const auto steadyNow = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  w.StartObject();
  str("listen", listenAddress());
  str("revision", revision_);
  str("loadedAt", timestamp(loadedAt_));
  w.Key("repair");
  w.Bool(options_.repair);
  w.Key("ready");
  w.Bool(state_ != nullptr && std::all_of(resources_.begin(), resources_.end(),
                                          [](const auto& r) { return r.second.reconciled; }));
  w.Key("rejected");
  if (rejected_) {
    w.StartObject();
    str("revision", rejected_->revision);
    str("at", timestamp(rejected_->at));
    w.Key("errors");
    w.StartArray();
    for (const std::string& e : rejected_->errors) w.String(e.c_str());
    w.EndArray();
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("queue");
  w.StartObject();
  w.Key("depth");
  w.Uint64(queue_.depth());
  w.Key("processing");
  w.Uint64(queue_.processing());
  w.EndObject();
  w.Key("passes");
  w.Uint64(passes_);
  w.Key("lastPassSeconds");
  w.Double(lastPassSeconds_);
  w.Key("resources");
  w.StartArray();
  for (const auto& [key, rs] : resources_) {
    w.StartObject();
    str("kind", kindOf(key));
    str("name", nameOf(key));
    w.Key("generation");
    w.Int64(rs.generation);
    str("lastReconciled", timestamp(rs.lastReconciled));
    w.Key("failures");
    w.Int(queue_.failures(key));
    w.Key("terminal");
    w.Bool(queue_.terminal(key));
    if (auto at = queue_.readyAt(key)) {
      w.Key("nextAttemptSeconds");
      w.Double(std::max(0.0, std::chrono::duration<double>(*at - steadyNow).count()));
    }
    w.Key("conditions");
    w.StartArray();
    for (const engine::Condition& c : rs.conditions.all()) {
      w.StartObject();
      str("type", c.type);
      str("status", std::string(engine::conditionStatusName(c.status)));
      str("reason", c.reason);
      str("message", c.message);
      w.Key("observedGeneration");
      w.Int64(c.observedGeneration);
      str("lastTransitionTime", timestamp(c.lastTransitionTime));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("hosts");
  w.StartArray();
  for (const auto& [name, h] : hosts_) {
    w.StartObject();
    str("name", name);
    w.Key("reachable");
    w.Bool(h.reachable);
    if (!h.error.empty()) str("error", h.error);
    w.Key("drift");
    w.Uint64(h.drift);
    if (!h.lockedBy.empty()) str("lockedBy", h.lockedBy);
    w.Key("roundTrips");
    w.Uint64(h.roundTrips);
    str("observed", timestamp(h.observed));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace kthw::engine
