#include "runtime/host_ops.h"

#include <chrono>
#include <sstream>

#include "runtime/digest.h"
#include "runtime/shell.h"
#include "runtime/ssh_transport.h"

namespace kthw::runtime {
namespace {

std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

// The line of a checker's output that says what is wrong (haproxy's ALERT, nginx's emerg).
std::string checkerMessage(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("ALERT") != std::string::npos || line.find("emerg") != std::string::npos ||
        line.find("rror") != std::string::npos) {
      return line.size() > 400 ? line.substr(0, 400) + "..." : line;
    }
  }
  return firstLine(text);
}

}  // namespace

Status ShellHostOps::execChecked(const std::string& what, const std::string& script,
                                 const std::string& input) {
  ExecInput in = ExecInput::memory(input);
  return execChecked(what, script, in);
}

Status ShellHostOps::execChecked(const std::string& what, const std::string& script,
                                 ExecInput& input) {
  auto result = transport_->execWithInput(script, input, timeout_);
  if (!result.ok()) return result.status();
  if (result->exitStatus == kExitPreconditionFailed) {
    return Status(StatusCode::kAborted, what + ": " + firstLine(result->err));
  }
  if (result->exitStatus == kExitCheckFailed) {
    return failedPrecondition(what + ": the new content failed its check, the old one stays: " +
                              checkerMessage(result->err));
  }
  if (result->exitStatus == kExitContentMismatch) {
    return unavailable(what + ": the content arrived incomplete; the old file was kept");
  }
  if (result->exitStatus != 0) {
    std::string detail = firstLine(result->err.empty() ? result->out : result->err);
    return failedPrecondition(what + " failed (exit " + std::to_string(result->exitStatus) +
                              (detail.empty() ? ")" : "): " + detail));
  }
  return okStatus();
}

StatusOr<ProbeResult> ShellHostOps::probe(const ProbeRequest& request) {
  const auto nowNs = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = nowNs();
  auto result = transport_->exec(probeScript(request), "", timeout_);
  const int64_t after = nowNs();
  if (!result.ok()) return result.status();
  auto parsed = parseProbeOutput(result->out);
  if (parsed.ok() && parsed->hostClockNs) {
    parsed->clockSkew = clockSkew(*parsed->hostClockNs, before, after);
  }
  return parsed;
}

StatusOr<std::map<std::string, std::string>> ShellHostOps::fetch(
    const std::vector<std::string>& paths) {
  if (paths.empty()) return std::map<std::string, std::string>{};
  auto result = transport_->exec(fetchScript(paths), "", timeout_);
  if (!result.ok()) return result.status();
  return parseFetchOutput(result->out);
}

Status ShellHostOps::writeFile(const FileSpec& file, const std::string& content,
                               const std::optional<std::string>& ifCurrentSha256) {
  return execChecked("write " + file.path,
                     atomicWriteScript(file, sha256Hex(content), content.size(), ifCurrentSha256),
                     content);
}

Status ShellHostOps::writeFileFrom(const FileSpec& file, const LocalFile& source,
                                   const std::optional<std::string>& ifCurrentSha256) {
  auto in = ExecInput::file(source.path);
  if (!in.ok()) return in.status();
  // The script checks size and sha256 of what arrived, so a file changed locally since it was
  // hashed is refused on the host rather than installed.
  return execChecked("write " + file.path,
                     atomicWriteScript(file, source.sha256, source.size, ifCurrentSha256), *in);
}

Status ShellHostOps::replaceBlock(const std::string& path, const std::string& block,
                                  const std::optional<std::string>& ifCurrentSha256) {
  return execChecked("update the kthw block of " + path,
                     replaceBlockScript(path, sha256Hex(block), block.size(), ifCurrentSha256),
                     block);
}

Status ShellHostOps::ensureDirectory(const FileSpec& dir) {
  return execChecked("create directory " + dir.path, ensureDirectoryScript(dir), "");
}

Status ShellHostOps::removeFile(const std::string& path) {
  return execChecked("remove " + path, removeFileScript(path), "");
}

Status ShellHostOps::run(const std::string& script) {
  return execChecked(firstLine(script), script, "");
}

Status ShellHostOps::perform(const HostCommand& command) {
  return execChecked(describeCommand(command), commandScript(command), "");
}

StatusOr<std::string> ShellHostOps::output(const std::string& script) {
  auto result = transport_->exec(script, "", timeout_);
  if (!result.ok()) return result.status();
  if (result->exitStatus != 0) {
    std::string detail = firstLine(result->err.empty() ? result->out : result->err);
    return failedPrecondition(firstLine(script) + " failed (exit " +
                              std::to_string(result->exitStatus) +
                              (detail.empty() ? ")" : "): " + detail));
  }
  return std::move(result->out);
}

static std::string hostLockScript(const std::string& owner, std::chrono::seconds staleAfter) {
  return "f=" + std::string(kHostLockPath) + "; me=" + shellQuote(owner) +
         "; stale=" + std::to_string(staleAfter.count()) + R"SH(
mkdir -p "${f%/*}" || exit 1
took=
for attempt in 1 2 3; do
  now=$(date +%s)
  if ( set -C; printf '%s %s\n' "$now" "$me" > "$f" ) 2>/dev/null; then
    echo "acquired $took"; exit 0
  fi
  cur=$(cat "$f" 2>/dev/null) || continue
  since=${cur%% *}; holder=${cur#* }
  [ "$holder" = "$me" ] && { echo "acquired"; exit 0; }
  case "$since" in ''|*[!0-9]*) since=0 ;; esac
  if [ $((now - since)) -ge "$stale" ]; then
    # Stale: set it aside under a name of our own; of two takers only one rename succeeds.
    if mv "$f" "$f.stale.$$" 2>/dev/null; then
      took=$(cat "$f.stale.$$"); rm -f "$f.stale.$$"; continue
    fi
    continue
  fi
  echo "held $((now - since)) $holder"; exit 0
done
echo "held 0 (the lock changed hands three times while kthw looked)"
)SH";
}

StatusOr<HostLockState> HostOps::lock(const std::string&, std::chrono::seconds) {
  return HostLockState{true, "", 0, ""};
}

Status HostOps::unlock(const std::string&) { return okStatus(); }

StatusOr<HostLockState> ShellHostOps::lock(const std::string& owner,
                                           std::chrono::seconds staleAfter) {
  auto result = transport_->exec(hostLockScript(owner, staleAfter), "", timeout_);
  if (!result.ok()) return result.status();
  if (result->exitStatus != 0) {
    return unavailable("take the kthw lock " + std::string(kHostLockPath) + ": " +
                       firstLine(result->err));
  }
  HostLockState state;
  const std::string line = firstLine(result->out);
  if (line.starts_with("acquired")) {
    state.acquired = true;
    if (line.size() > 9) state.tookOver = line.substr(9);
    return state;
  }
  if (!line.starts_with("held ")) {
    return internalError("unexpected answer from the lock script: " + line);
  }
  const std::string rest = line.substr(5);
  const size_t space = rest.find(' ');
  state.heldSeconds = std::atoll(rest.substr(0, space).c_str());
  state.holder = space == std::string::npos ? "" : rest.substr(space + 1);
  return state;
}

Status ShellHostOps::unlock(const std::string& owner) {
  return execChecked("release the kthw lock",
                     "f=" + std::string(kHostLockPath) +
                         "; cur=$(cat \"$f\" 2>/dev/null) || exit 0\n"
                         "[ \"${cur#* }\" = " +
                         shellQuote(owner) + " ] && rm -f \"$f\"\nexit 0\n",
                     "");
}

}  // namespace kthw::runtime
