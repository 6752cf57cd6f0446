#include "cli/cli_args.h"

#include <algorithm>

namespace kthw::cli {

std::string ParsedArgs::get(const std::string& longName, const std::string& fallback) const {
  auto it = values.find(longName);
  if (it == values.end() || it->second.empty()) return fallback;
  return it->second.back();
}

const std::vector<std::string>& ParsedArgs::all(const std::string& longName) const {
  static const std::vector<std::string> kNone;
  auto it = values.find(longName);
  return it == values.end() ? kNone : it->second;
}

std::optional<ParsedArgs> parseArgs(const std::vector<std::string>& args,
                                    const std::vector<OptionSpec>& specs, std::string& error) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1,
                            args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out.positional.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> inlineValue;
    if (const size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      inlineValue = arg.substr(eq + 1);
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) {
      return s.longName == name || (!s.shortName.empty() && s.shortName == name);
    });
    if (spec == specs.end()) {
      error = "unknown option " + name;
      return std::nullopt;
    }
    if (!spec->takesValue) {
      if (inlineValue) {
        error = spec->longName + " takes no value";
        return std::nullopt;
      }
      out.values[spec->longName].push_back("true");
      continue;
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) {
        error = spec->longName + " needs a value (" + spec->valueName + ")";
        return std::nullopt;
      }
      inlineValue = args[++i];
    }
    auto& slot = out.values[spec->longName];
    if (!slot.empty() && !spec->repeatable) {
      error = spec->longName + " given more than once";
      return std::nullopt;
    }
    slot.push_back(*inlineValue);
  }
  return out;
}

std::string formatOptions(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const OptionSpec& s : specs) {
    std::string left = "  ";
    left += s.shortName.empty() ? "    " : s.shortName + ", ";
    left += s.longName;
    if (s.takesValue) left += " " + s.valueName;
    if (left.size() < 28)
      left.resize(28, ' ');
    else
      left += "\n" + std::string(28, ' ');
    out += left + s.help + "\n";
  }
  return out;
}

std::optional<size_t> parseCount(const std::string& text, size_t maxDigits) {
  if (text.empty() || text.size() > maxDigits ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(text);
}

std::optional<ParsedArgs> parseCommand(const std::string& command,
                                       const std::vector<std::string>& args,
                                       const std::vector<OptionSpec>& specs,
                                       const std::string& help, const std::string& exitStatus,
                                       std::ostream& out, std::ostream& err, int& code) {
  std::string error;
  auto parsed = parseArgs(args, specs, error);
  if (!parsed) {
    err << "kthw " << command << ": " << error << "\nRun 'kthw " << command
        << " --help' for usage.\n";
    code = kExitUsage;
    return std::nullopt;
  }
  if (parsed->has("--help")) {
    out << help << formatOptions(specs) << exitStatus;
    code = kExitOk;
    return std::nullopt;
  }
  return parsed;
}

}  // namespace kthw::cli
