#include "reconcilers/service_hold_back.h"

#include <map>
#include <string_view>

namespace kthw::reconcilers {
namespace {

bool separator(char c) {
  return std::string_view(" \t\r\n\"'=,:;[]{}()").find(c) != std::string_view::npos;
}

// What the service is given to read on `host`: its flags' values, its arguments and its config
// files, substituted. What does not resolve is left out: the diff reports it on its own.
std::vector<std::string> inputsOn(const resources::ControlPlaneService& s,
                                  const resources::Host& host, const resources::Substituter& sub) {
  std::vector<std::string> inputs;
  resources::Diagnostics ignored;
  auto add = [&](const resources::Text& t) {
    if (auto v = sub.resolve(t, &host, ignored)) inputs.push_back(std::move(*v));
  };
  for (const resources::Flag& f : s.flags) {
    if (!f.bare) add(f.value);
  }
  for (const resources::Text& a : s.args) add(a);
  for (const resources::ConfigFile& f : s.configFiles) add(f.content);
  return inputs;
}

}  // namespace

bool namesPath(const std::string& text, const std::string& path) {
  if (path.empty()) return false;
  for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + 1)) {
    const size_t end = at + path.size();
    if ((at == 0 || separator(text[at - 1])) && (end == text.size() || separator(text[end]))) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> holdBackProblems(const resources::ControlPlaneService& service,
                                          const resources::Host& host,
                                          const resources::Substituter& substituter,
                                          const HostPlan& plan) {
  if (plan.guardedFiles.empty()) return {};
  const std::vector<std::string> inputs = inputsOn(service, host, substituter);
  std::map<std::string, std::string> readByBundle;  // Kind/name -> "/a, /b"
  for (const auto& [path, bundle] : plan.guardedFiles) {
    for (const std::string& input : inputs) {
      if (!namesPath(input, path)) continue;
      std::string& paths = readByBundle[bundle];
      paths += (paths.empty() ? "" : ", ") + path;
      break;
    }
  }
  std::vector<std::string> problems;
  for (const auto& [bundle, paths] : readByBundle) {
    std::string kindAndName = bundle;  // "CertificateBundle lab-pki"
    if (const size_t slash = kindAndName.find('/'); slash != std::string::npos) {
      kindAndName[slash] = ' ';
    }
    problems.push_back("ControlPlaneService/" + service.name() + ": " + host.name() +
                       ": held back: " + service.name() + " reads " + paths + " of " + kindAndName +
                       ", which the guard leaves as it is on this host");
  }
  return problems;
}

}  // namespace kthw::reconcilers
