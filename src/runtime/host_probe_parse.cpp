// Reading the probe's answer: parseProbeOutput and parseFetchOutput, with their field parsers.
#include <charconv>
#include <sstream>

#include "runtime/host_probe.h"
#include "runtime/host_probe_internal.h"

namespace kthw::runtime {
namespace {

using probe_internal::kHeader;

std::vector<std::string> splitTabs(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.emplace_back(line.substr(start, tab == std::string_view::npos ? line.npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

FileType fileTypeFromStat(std::string_view s) {
  if (s == "regular file" || s == "regular empty file") return FileType::kFile;
  if (s == "directory") return FileType::kDirectory;
  if (s == "symbolic link") return FileType::kSymlink;
  return FileType::kOther;
}

// A non-negative decimal number of at most 18 digits, nothing else.
std::optional<int64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// `date +%s%N`: nanoseconds since the epoch, or seconds where %N is not supported (then it is
// printed as is, "N", or dropped).
std::optional<int64_t> clockNanoseconds(std::string s) {
  if (s.ends_with("%N") || s.ends_with("N")) s.erase(s.find_last_not_of("%N") + 1);
  if (s.size() >= 17 && s.size() <= 19) {
    if (s.size() == 19 && s > "9000000000000000000") return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && v >= 0) return v;
    return std::nullopt;
  }
  if (s.size() > 11) return std::nullopt;
  auto seconds = number(s);
  if (!seconds) return std::nullopt;
  return *seconds * 1000000000;
}

}  // namespace

StatusOr<ProbeResult> parseProbeOutput(const std::string& output) {
  std::istringstream in(output);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    return unavailable("unexpected probe output (is /bin/sh a POSIX shell?): " +
                       output.substr(0, 200));
  }
  ProbeResult r;
  std::string unit;
  UnitState unitState;
  std::string block;
  std::string contentPath;
  auto flushUnit = [&] {
    if (!unit.empty()) r.units[unit] = unitState;
    unit.clear();
    unitState = UnitState{};
  };
  auto unitLine = [&](const std::string& kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return;
    const std::string key = kv.substr(0, eq);
    const std::string value = kv.substr(eq + 1);
    if (key == "Id") {
      flushUnit();
      unit = value;
    } else if (key == "LoadState")
      unitState.loadState = value;
    else if (key == "ActiveState")
      unitState.activeState = value;
    else if (key == "SubState")
      unitState.subState = value;
    else if (key == "UnitFileState")
      unitState.unitFileState = value;
    else if (key == "ActiveEnterTimestampMonotonic")
      unitState.activeEnterTimestampMonotonic = value;
  };
  bool inSystemd = false;
  bool ended = false;
  while (std::getline(in, line)) {
    if (line == "END") {
      ended = true;
      break;
    }
    if (inSystemd && line.find('\t') == std::string::npos &&
        (line.empty() || line.find('=') != std::string::npos || line == "SYSTEMD-END")) {
      // systemctl show's own lines, KEY=VALUE, units separated by an empty line (a tagged line
      // has a tab, an untagged one no '=': none of these values has a tab).
      if (line == "SYSTEMD-END") {
        inSystemd = false;
      } else {
        unitLine(line);
      }
      continue;
    }
    const std::vector<std::string> f = splitTabs(line);
    const std::string& tag = f[0];
    if (tag == "F" && f.size() == 7) {
      FileState& st = r.files[f[1]];
      st.type = fileTypeFromStat(f[2]);
      std::from_chars(f[3].data(), f[3].data() + f[3].size(), st.mode, 8);
      st.owner = f[4];
      st.group = f[5];
      std::from_chars(f[6].data(), f[6].data() + f[6].size(), st.size);
    } else if (tag == "H" && f.size() >= 3) {
      r.files[line.substr(2 + f[1].size() + 1)].sha256 = f[1];
    } else if (tag == "SYSTEMD") {
      r.systemctlAvailable = true;
      inSystemd = true;
    } else if (tag == "U" && f.size() == 2) {
      unitLine(f[1]);
    } else if (tag == "B" && f.size() == 2) {
      block = f[1];
      r.blocks[block] = std::nullopt;
    } else if (tag == "b" && !block.empty()) {
      auto& content = r.blocks[block];
      content = content.value_or("") + line.substr(2) + "\n";
    } else if (tag == "C" && f.size() == 2) {
      contentPath = f[1];
      r.contents[contentPath].clear();
    } else if (tag == "c" && !contentPath.empty()) {
      r.contents[contentPath] += line.substr(2) + "\n";
    } else if (tag == "S" && f.size() >= 3) {
      r.sysctls[f[1]] = line.substr(2 + f[1].size() + 1);
    } else if (tag == "S-" && f.size() == 2) {
      r.sysctls[f[1]] = std::nullopt;
    } else if (tag == "M" && f.size() == 3) {
      r.modules[f[1]] = f[2] == "1";
    } else if (tag == "L" && f.size() >= 3) {
      r.heads[f[1]] = line.substr(2 + f[1].size() + 1);
    } else if (tag == "FV" && f.size() == 3) {
      r.binaryFlags[f[1]].version = f[2];
    } else if (tag == "FX" && f.size() == 3) {
      r.binaryFlags[f[1]].unknown.push_back(f[2]);
    } else if (tag == "O" && f.size() >= 2) {
      r.osRelease = line.substr(2);
    } else if (tag == "K" && f.size() >= 2) {
      r.kernel = line.substr(2);
    } else if (tag == "CMD" && f.size() == 3) {
      r.commands[f[1]] = f[2] == "1";
    } else if (tag == "SS") {
      r.listenersKnown = true;
    } else if (tag == "SS-") {
      r.ssMissing = true;
    } else if (tag == "SS!") {
      r.ssFailed = true;
    } else if (tag == "P" && f.size() == 5) {
      if (auto port = number(f[1]); port && *port > 0 && *port < 65536) {
        r.listeners.push_back({static_cast<int>(*port), f[2], f[3], f[4]});
      }
    } else if (tag == "SWAP" && f.size() == 2) {
      if (auto n = number(f[1])) r.swapOn = *n > 0;
    } else if (tag == "T" && f.size() == 2) {
      r.hostClockNs = clockNanoseconds(f[1]);
    }
  }
  flushUnit();
  if (!ended) return unavailable("probe output was cut short");
  for (auto& [path, state] : r.files) {
    if (state.type == FileType::kAbsent && !state.sha256.empty()) state.type = FileType::kFile;
  }
  return r;
}

StatusOr<std::map<std::string, std::string>> parseFetchOutput(const std::string& output) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < output.size()) {
    const size_t eol = output.find('\n', pos);
    if (eol == std::string::npos || output.compare(pos, 2, "C\t") != 0) {
      return internalError("malformed fetch output");
    }
    const std::string header = output.substr(pos + 2, eol - pos - 2);
    const size_t tab = header.find('\t');
    if (tab == std::string::npos) return internalError("malformed fetch header");
    size_t length = 0;
    std::from_chars(header.data(), header.data() + tab, length);
    if (eol + 1 + length > output.size()) return internalError("fetch output cut short");
    out[header.substr(tab + 1)] = output.substr(eol + 1, length);
    pos = eol + 1 + length;
  }
  return out;
}

std::string notRunningReason(const UnitState& state) {
  if (state.activeState.empty()) return "not running";
  // Restart= after a crash: the unit waits out RestartSec= in activating/auto-restart (systemd
  // 254 and later also pass through *-before-auto-restart and auto-restart-queued).
  const std::string& sub = state.subState;
  if (sub.starts_with("auto-restart") || sub.ends_with("-before-auto-restart")) {
    return "exited, systemd restarts it";
  }
  return state.activeState;
}

}  // namespace kthw::runtime
