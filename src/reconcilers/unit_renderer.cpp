#include "reconcilers/unit_renderer.h"

#include "reconcilers/systemd_syntax.h"

namespace kthw::reconcilers {
namespace {

// Assembles a unit from directives; each value goes through systemd_syntax, and a value it
// refuses is reported against the field it came from.
class UnitBuilder {
 public:
  UnitBuilder(const resources::UnitSettings& u, resources::Diagnostics& out) : u_(u), out_(out) {}

  void section(const char* name) { unit_ += std::string(unit_.empty() ? "" : "\n") + name + "\n"; }

  void directive(const char* key, const std::string& value, std::string_view field,
                 Specifiers specifiers = Specifiers::kExpanded) {
    add(key, systemdValue(value, specifiers), u_.marks.of(field), field);
  }

  void add(const char* key, const StatusOr<std::string>& value, const resources::Mark& mark,
           std::string_view field) {
    if (value.ok()) {
      unit_ += std::string(key) + "=" + *value + "\n";
      return;
    }
    fail(mark, std::string("spec.unit.") + std::string(field), value.status().message());
  }

  void fail(const resources::Mark& mark, std::string path, const std::string& message) {
    ok_ = false;
    out_.push_back(resources::Diagnostic{mark, std::move(path), message});
  }

  void raw(const std::string& text) { unit_ += text; }
  void resolved(bool ok) { ok_ = ok_ && ok; }
  bool ok() const { return ok_; }
  const std::string& text() const { return unit_; }

 private:
  const resources::UnitSettings& u_;
  resources::Diagnostics& out_;
  std::string unit_;
  bool ok_ = true;
};

}  // namespace

std::optional<std::string> renderUnit(const resources::ControlPlaneService& service,
                                      const resources::Host& host,
                                      const resources::Substituter& substituter,
                                      resources::Diagnostics& out) {
  const resources::UnitSettings& u = service.unit;
  UnitBuilder unit(u, out);
  unit.section("[Unit]");
  if (!u.description.empty()) unit.directive("Description", u.description, "description");
  if (!u.documentation.empty()) unit.directive("Documentation", u.documentation, "documentation");
  for (const std::string& a : u.after) unit.directive("After", a, "after");
  for (const std::string& w : u.wants) unit.directive("Wants", w, "wants");
  unit.section("[Service]");
  if (!u.type.empty()) unit.directive("Type", u.type, "type", Specifiers::kNotExpanded);
  if (!u.notifyAccess.empty()) {
    unit.directive("NotifyAccess", u.notifyAccess, "notifyAccess", Specifiers::kNotExpanded);
  }
  if (!u.user.empty()) unit.directive("User", u.user, "user");
  if (!u.group.empty()) unit.directive("Group", u.group, "group");
  for (const auto& [key, value] : u.environment) {
    auto v = substituter.resolve(value, &host, out);
    unit.resolved(v.has_value());
    if (v) {
      unit.add("Environment", systemdEnvironment(key, *v), value.mark, "environment." + key);
    }
  }
  // Each argument is checked on its own first, so that a refusal names the field it came from.
  std::vector<std::string> argv = {service.binary.path};
  auto argument = [&](std::string word, const resources::Mark& mark, const std::string& path) {
    auto quoted = systemdCommandWord(word);
    if (!quoted.ok()) unit.fail(mark, path, quoted.status().message());
    argv.push_back(std::move(word));
  };
  for (const resources::Flag& f : service.flags) {
    if (f.bare) {
      argument("--" + f.name, f.value.mark, f.value.path);
      continue;
    }
    auto v = substituter.resolve(f.value, &host, out);
    unit.resolved(v.has_value());
    if (v) argument("--" + f.name + "=" + *v, f.value.mark, f.value.path);
  }
  for (const resources::Text& a : service.args) {
    auto v = substituter.resolve(a, &host, out);
    unit.resolved(v.has_value());
    if (v) argument(*v, a.mark, a.path);
  }
  auto command = systemdCommandLine(argv);
  if (command.ok()) {
    unit.raw("ExecStart=" + *command + "\n");
  } else if (unit.ok()) {
    unit.fail(service.binary.mark, "spec.binary.path", command.status().message());
  }
  unit.directive("Restart", u.restart, "restart", Specifiers::kNotExpanded);
  unit.directive("RestartSec", u.restartSec, "restartSec", Specifiers::kNotExpanded);
  if (u.limitNOFILE > 0) unit.raw("LimitNOFILE=" + std::to_string(u.limitNOFILE) + "\n");
  unit.section("[Install]");
  unit.directive("WantedBy", u.wantedBy, "wantedBy");
  if (!unit.ok()) return std::nullopt;
  return unit.text();
}

}  // namespace kthw::reconcilers
