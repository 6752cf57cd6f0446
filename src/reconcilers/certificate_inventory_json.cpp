// The certificate inventory as JSON, and the timestamps it prints.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>

#include "reconcilers/certificate_inventory.h"

namespace kthw::reconcilers {
namespace {

using Clock = std::chrono::system_clock;
using Json = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Json& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void writeCheck(const std::optional<runtime::CertificateCheck>& c, Json& w) {
  if (!c) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("subject");
  str(w, c->info.subject);
  w.Key("issuer");
  str(w, c->info.issuer);
  w.Key("notBefore");
  str(w, isoTime(c->info.notBefore));
  w.Key("notAfter");
  str(w, isoTime(c->info.notAfter));
  w.Key("daysLeft");
  w.Int64(c->daysLeft);
  w.Key("sha256");
  str(w, c->info.sha256Fingerprint);
  w.Key("health");
  str(w, std::string(runtime::certificateHealthName(c->health)));
  w.Key("chainsToAuthority");
  w.Bool(c->chain.ok());
  w.EndObject();
}

void writeEntry(const CertificateEntry& e, Json& w) {
  w.StartObject();
  w.Key("bundle");
  str(w, e.bundle);
  w.Key("name");
  str(w, e.name);
  w.Key("kind");
  w.String(e.authority ? "authority" : "certificate");
  w.Key("authority");
  str(w, e.authorityName);
  w.Key("renewBeforeSeconds");
  w.Int64(e.renewBefore.count());
  w.Key("stored");
  writeCheck(e.stored, w);
  w.Key("status");
  str(w, entryStatus(e));
  w.Key("finding");
  w.Bool(e.finding());
  w.Key("installed");
  w.StartArray();
  for (const InstalledCopy& c : e.copies) {
    w.StartObject();
    w.Key("host");
    str(w, c.host);
    w.Key("path");
    str(w, c.path);
    w.Key("state");
    str(w, std::string(copyStateName(c.state)));
    w.Key("certificate");
    writeCheck(c.check, w);
    w.Key("status");
    str(w, copyStatus(e, c));
    w.Key("finding");
    w.Bool(c.finding());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

std::string inventoryJson(const CertificateInventory& inventory) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  w.StartObject();
  w.Key("now");
  str(w, isoTime(inventory.now));
  w.Key("certificates");
  w.StartArray();
  size_t findings = 0;
  for (const CertificateEntry& e : inventory.entries) {
    writeEntry(e, w);
    findings += e.finding() ? 1 : 0;
  }
  w.EndArray();
  w.Key("hosts");
  w.StartArray();
  size_t unreachable = 0;
  for (const auto& [name, reach] : inventory.hosts) {
    w.StartObject();
    w.Key("name");
    str(w, name);
    w.Key("reachable");
    w.Bool(reach.ok());
    w.Key("error");
    str(w, reach.message());
    w.EndObject();
    unreachable += reach.ok() ? 0 : 1;
  }
  w.EndArray();
  w.Key("certificatesWithFindings");
  w.Uint64(findings);
  w.Key("unreachableHosts");
  w.Uint64(unreachable);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

std::string isoTime(Clock::time_point t) {
  const std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace kthw::reconcilers