#include "cli/plan_output.h"

#include <unistd.h>

#include <cstdlib>
#include <ostream>
#include <sstream>

namespace kthw::cli {
namespace {

const char* marker(reconcilers::ActionType t) {
  switch (t) {
    case reconcilers::ActionType::kRemoveFile:
      return "-";
    case reconcilers::ActionType::kEnsureDirectory:
    case reconcilers::ActionType::kWriteFile:
    case reconcilers::ActionType::kReplaceBlock:
      return "~";
    case reconcilers::ActionType::kRunCommand:
      return "!";
  }
  return "?";
}

void printDiff(const std::string& diff, const Style& style, std::ostream& out) {
  std::istringstream in(diff);
  std::string line;
  while (std::getline(in, line)) {
    const char* color = "";
    if (line.starts_with("+") && !line.starts_with("+++")) color = style.green();
    if (line.starts_with("-") && !line.starts_with("---")) color = style.red();
    out << "      " << color << line << (*color != 0 ? style.reset() : "") << "\n";
  }
}

}  // namespace

Style styleFor(const std::string& colorOption) {
  if (colorOption == "always") return Style{true};
  if (colorOption == "never") return Style{false};
  return Style{::isatty(1) != 0 && std::getenv("NO_COLOR") == nullptr};
}

void printPlans(const std::vector<engine::HostOutcome>& outcomes, const Style& style,
                std::ostream& out) {
  size_t drifted = 0;
  size_t unreachable = 0;
  for (const engine::HostOutcome& o : outcomes) {
    const reconcilers::HostPlan& p = o.plan;
    out << style.bold() << p.host << style.reset() << " (" << p.transport;
    if (!o.reach.ok()) {
      ++unreachable;
      out << ")\n  " << style.red() << "unreachable: " << o.reach.message() << style.reset()
          << "\n";
      continue;
    }
    if (!p.osRelease.empty()) out << ", " << p.osRelease;
    if (!p.hostKeyFingerprint.empty()) out << ", " << p.hostKeyFingerprint;
    out << ")\n";
    if (p.converged()) {
      out << "  " << style.green() << "no drift" << style.reset() << "\n";
      continue;
    }
    ++drifted;
    for (const reconcilers::Action& a : p.actions) {
      out << "  " << style.yellow() << marker(a.type) << " " << a.summary << style.reset() << "  ["
          << a.resource << "] " << a.reason << "\n";
      if (!a.diff.empty()) printDiff(a.diff, style, out);
    }
    for (const std::string& problem : p.problems) {
      out << "  " << style.red() << "problem: " << problem << style.reset() << "\n";
    }
  }
  out << "\n"
      << outcomes.size() << " host(s): " << drifted << " with drift, "
      << outcomes.size() - drifted - unreachable << " converged, " << unreachable
      << " unreachable\n";
}

void writeHostFieldsJson(const engine::HostOutcome& o, JsonWriter& w) {
  const reconcilers::HostPlan& p = o.plan;
  w.Key("name");
  w.String(p.host.c_str());
  w.Key("transport");
  w.String(p.transport.c_str());
  w.Key("reachable");
  w.Bool(o.reach.ok());
  if (!o.reach.ok()) {
    w.Key("error");
    w.String(o.reach.message().c_str());
  }
  w.Key("os");
  w.String(p.osRelease.c_str());
  w.Key("kernel");
  w.String(p.kernel.c_str());
  w.Key("hostKey");
  w.String(p.hostKeyFingerprint.c_str());
  w.Key("roundTrips");
  w.Uint64(o.roundTrips);
}

void writeActionFieldsJson(const reconcilers::Action& a, bool withDiff, JsonWriter& w) {
  w.Key("type");
  w.String(std::string(reconcilers::actionTypeName(a.type)).c_str());
  w.Key("resource");
  w.String(a.resource.c_str());
  w.Key("target");
  w.String(a.target.c_str());
  w.Key("summary");
  w.String(a.summary.c_str());
  w.Key("reason");
  w.String(a.reason.c_str());
  if (withDiff && !a.diff.empty()) {
    w.Key("diff");
    w.String(a.diff.c_str());
  }
}

void printPlansJson(const std::vector<engine::HostOutcome>& outcomes, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  bool drift = false;
  for (const auto& o : outcomes) drift = drift || (o.reach.ok() && !o.plan.converged());
  w.StartObject();
  w.Key("drift");
  w.Bool(drift);
  w.Key("hosts");
  w.StartArray();
  for (const engine::HostOutcome& o : outcomes) {
    w.StartObject();
    writeHostFieldsJson(o, w);
    w.Key("actions");
    w.StartArray();
    for (const reconcilers::Action& a : o.plan.actions) {
      w.StartObject();
      writeActionFieldsJson(a, true, w);
      w.EndObject();
    }
    w.EndArray();
    w.Key("problems");
    w.StartArray();
    for (const std::string& problem : o.plan.problems) w.String(problem.c_str());
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out << buffer.GetString() << "\n";
}

}  // namespace kthw::cli
