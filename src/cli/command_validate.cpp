#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "resources/desired_state.h"

namespace kthw::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents (repeatable; - reads stdin)"},
    {"--output", "-o", true, false, "FORMAT", "text (default) or json"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kHelp = R"(Check the desired state without touching any host or API server.

Every *.yaml and *.yml file below each -f directory is read (multi-document).
Documents are checked against the CRD schemas in crds/ (unknown fields, types,
enums, formats), then against each other: unique names, references between
resources, host selectors, ${...} substitutions, IP addresses and CIDRs.
All problems are reported in one run, each as FILE:LINE:COL: FIELD.PATH: message.
Warnings (FILE:LINE:COL: warning: ...) name what is accepted but should change,
such as rbac.authorization.k8s.io/v1beta1, which is read and sent as v1.

Usage:
  kthw validate -f PATH [-f PATH...] [-o json]

Options:
)";

constexpr const char* kExitCodes = R"(
Exit status: 0 valid, 1 invalid (errors on stderr, or as JSON on stdout), 2 usage error.
)";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// The first kMaxPrintedDiagnostics, as on stderr.
void writeDiagnostics(const resources::Diagnostics& diagnostics, JsonWriter& w) {
  w.StartArray();
  const size_t shown = std::min(diagnostics.size(), resources::kMaxPrintedDiagnostics);
  for (size_t i = 0; i < shown; ++i) {
    const resources::Diagnostic& d = diagnostics[i];
    w.StartObject();
    w.Key("file");
    w.String(d.mark.fileName().c_str());
    w.Key("line");
    w.Int(d.mark.line);
    w.Key("column");
    w.Int(d.mark.column);
    w.Key("field");
    w.String(d.path.c_str());
    w.Key("message");
    w.String(d.message.c_str());
    w.EndObject();
  }
  w.EndArray();
}

void writeJson(const resources::LoadOutcome& outcome, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("valid");
  w.Bool(outcome.ok());
  w.Key("resources");
  w.Uint64(outcome.state.resourceCount());
  w.Key("errorCount");
  w.Uint64(outcome.errorCount());
  w.Key("errors");  // errorCount says how many there were
  writeDiagnostics(outcome.errors, w);
  w.Key("warnings");
  writeDiagnostics(outcome.warnings, w);
  w.EndObject();
  out << buffer.GetString() << "\n";
}

}  // namespace

int runValidate(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("validate", args, kOptions, kHelp, kExitCodes, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "text");
  if (output != "text" && output != "json") {
    io.err << "kthw validate: --output must be text or json\n";
    return kExitUsage;
  }
  if (!parsed->has("--filename") || !parsed->positional.empty()) {
    io.err << "kthw validate: give the documents with -f PATH\n";
    return kExitUsage;
  }
  resources::LoadOutcome outcome = resources::loadDesiredState(parsed->all("--filename"), io.in);
  if (output == "json") {
    writeJson(outcome, io.out);
  } else {
    for (const std::string& line : outcome.warningLines()) io.err << line << "\n";
    for (const std::string& line : outcome.errorLines()) io.err << line << "\n";
    if (outcome.ok()) {
      io.out << "valid: " << outcome.state.resourceCount() << " resources\n";
    } else {
      io.err << outcome.errorCount() << " error(s)\n";
    }
  }
  return outcome.ok() ? kExitOk : kExitFindings;
}

}  // namespace kthw::cli
