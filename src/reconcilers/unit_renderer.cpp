#include "reconcilers/unit_renderer.h"

namespace kthw::reconcilers {

std::string systemdQuote(const std::string& word) {
  std::string escaped;
  bool needsQuotes = word.empty();
  for (char c : word) {
    if (c == '$')
      escaped += "$$";
    else if (c == '%')
      escaped += "%%";
    else if (c == '"' || c == '\\')
      escaped += std::string("\\") + c;
    else
      escaped += c;
    if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '\\' || c == ';') {
      needsQuotes = true;
    }
  }
  return needsQuotes ? "\"" + escaped + "\"" : escaped;
}

std::optional<std::string> renderUnit(const resources::ControlPlaneService& service,
                                      const resources::Host& host,
                                      const resources::Substituter& substituter,
                                      resources::Diagnostics& out) {
  const resources::UnitSettings& u = service.unit;
  bool ok = true;
  std::string unit = "[Unit]\n";
  if (!u.description.empty()) unit += "Description=" + u.description + "\n";
  if (!u.documentation.empty()) unit += "Documentation=" + u.documentation + "\n";
  for (const std::string& a : u.after) unit += "After=" + a + "\n";
  for (const std::string& w : u.wants) unit += "Wants=" + w + "\n";
  unit += "\n[Service]\n";
  if (!u.type.empty()) unit += "Type=" + u.type + "\n";
  if (!u.notifyAccess.empty()) unit += "NotifyAccess=" + u.notifyAccess + "\n";
  if (!u.user.empty()) unit += "User=" + u.user + "\n";
  if (!u.group.empty()) unit += "Group=" + u.group + "\n";
  for (const auto& [key, value] : u.environment) {
    auto v = substituter.resolve(value, &host, out);
    ok = ok && v.has_value();
    if (v) unit += "Environment=" + systemdQuote(key + "=" + *v) + "\n";
  }
  unit += "ExecStart=" + systemdQuote(service.binary.path);
  for (const resources::Flag& f : service.flags) {
    if (f.bare) {
      unit += " \\\n  --" + f.name;
      continue;
    }
    auto v = substituter.resolve(f.value, &host, out);
    ok = ok && v.has_value();
    if (v) unit += " \\\n  " + systemdQuote("--" + f.name + "=" + *v);
  }
  for (const resources::Text& a : service.args) {
    auto v = substituter.resolve(a, &host, out);
    ok = ok && v.has_value();
    if (v) unit += " \\\n  " + systemdQuote(*v);
  }
  unit += "\nRestart=" + u.restart + "\n";
  unit += "RestartSec=" + u.restartSec + "\n";
  if (u.limitNOFILE > 0) unit += "LimitNOFILE=" + std::to_string(u.limitNOFILE) + "\n";
  unit += "\n[Install]\nWantedBy=" + u.wantedBy + "\n";
  if (!ok) return std::nullopt;
  return unit;
}

}  // namespace kthw::reconcilers
