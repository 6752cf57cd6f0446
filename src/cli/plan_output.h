#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <iosfwd>
#include <vector>

#include "engine/host_pass.h"

namespace kthw::cli {

struct Style {
  bool color = false;
  const char* green() const { return color ? "\033[32m" : ""; }
  const char* red() const { return color ? "\033[31m" : ""; }
  const char* yellow() const { return color ? "\033[33m" : ""; }
  const char* bold() const { return color ? "\033[1m" : ""; }
  const char* reset() const { return color ? "\033[0m" : ""; }
};

// "auto" colours when stdout is a terminal and NO_COLOR is unset.
Style styleFor(const std::string& colorOption);

// The plan of every host as people read it: per host, each action with its reason and diff.
void printPlans(const std::vector<engine::HostOutcome>& outcomes, const Style& style,
                std::ostream& out);
// The same as JSON: {"drift": bool, "hosts": [...]}.
void printPlansJson(const std::vector<engine::HostOutcome>& outcomes, std::ostream& out);

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// The keys diff -o json and apply -o json both give a host, inside an object the caller opened:
// name, transport, reachable, error (when unreachable), os, kernel, hostKey, roundTrips.
void writeHostFieldsJson(const engine::HostOutcome& outcome, JsonWriter& w);

// The keys both give an action, inside an object the caller opened: type, resource, target,
// summary, reason, and the diff when `withDiff` and there is one. Never the content written.
void writeActionFieldsJson(const reconcilers::Action& action, bool withDiff, JsonWriter& w);

}  // namespace kthw::cli
