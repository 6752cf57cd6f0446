// kthw run (the daemon) and kthw status (a table from its /status endpoint).
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iomanip>
#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"
#include "engine/daemon.h"
#include "runtime/dir_watch.h"
#include "runtime/logging.h"

namespace kthw::cli {
namespace {

constexpr const char* kDefaultListen = "127.0.0.1:9740";

const std::vector<OptionSpec> kRunOptions = {
    {"--filename", "-f", true, true, "PATH",
     "File or directory of YAML documents, watched for changes (repeatable)"},
    {"--listen", "", true, false, "HOST:PORT",
     "Serve /healthz, /readyz, /metrics and /status here (default 127.0.0.1:9740)"},
    {"--interval", "", true, false, "SECONDS",
     "Re-diff everything this often, with 10% jitter (default 180)"},
    {"--backoff-base", "", true, false, "SECONDS",
     "First retry delay of a failing resource; doubles per failure (default 1)"},
    {"--backoff-max", "", true, false, "SECONDS", "Longest retry delay (default 300)"},
    {"--parallel", "", true, false, "N", "Hosts handled at once (default 32)"},
    {"--max-clock-skew", "", true, false, "SECONDS",
     "A host clock further than this from this machine's is a problem (default 30)"},
    {"--kubeconfig", "", true, false, "FILE",
     "Reach the API server as this kubeconfig says (default: the desired state's admin)"},
    {"--verbose", "-v", false, false, "", "Log every probe, fetch and action with timings"},
    {"--no-repair", "", false, false, "",
     "Observe and report drift only: nothing is written to hosts, the store or the API"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kRunHelp = R"(Keep the hosts and the API server converged, as a daemon.

kthw run loads the desired state, queues every resource (Kind/name) and
reconciles them: the host-scoped kinds in passes of one probe per host (SSH
sessions are kept open between passes), ClusterRoles and ClusterRoleBindings
through the API server. A resource that fails, or whose prerequisite is not
there yet (no certificates, API server not ready), is retried with
exponential backoff and jitter; everything is re-diffed every --interval, so
drift made by hand is repaired within one interval.

The -f paths are watched (inotify). A change is loaded whole: when it is
invalid it is rejected with its FILE:LINE:COL errors (logged, and shown by
/status and `kthw status`) and the last good desired state stays in force.
Inside a git work tree the commit in force is reported ("-dirty" with
uncommitted changes). SIGHUP reloads by hand.

Before changing a host, run takes kthw's host lock (/run/kthw/lock), as
apply does; a host another writer holds is retried later.

With --no-repair, run only observes: every resync diffs each host and the
API server as `kthw diff` does, and drift is reported (Ready=False, reason
Drifted, in /status, `kthw status` and kthw_resource_ready / kthw_drift_changes
in /metrics; a warning per change in the log), never repaired. Nothing is
written to a host, the secret store or the API, and no host lock is taken.

Endpoints (plain HTTP, meant for loopback):
  /healthz   200 while the daemon's loop runs
  /readyz    200 once every resource of the desired state was reconciled
  /metrics   Prometheus text format (see README: Metrics)
  /status    JSON: revision, rejected change, conditions per resource, hosts

SIGTERM or SIGINT stops it: no further file is written, the write under way
finishes (writes are atomic), services whose new files were all written are
still restarted behind their health checks, the host locks are released. Under systemd it reports
readiness (Type=notify); see examples/kthw.service.

Usage:
  kthw run -f DIR [--listen 127.0.0.1:9740] [--interval 180] [--no-repair]

Options:
)";

constexpr const char* kRunExit = R"(
Exit status: 0 stopped by SIGTERM or SIGINT, 2 usage error (an -f path that
cannot be read included), 3 the -f paths cannot be watched or --listen cannot
be bound. An invalid desired state does not stop it: it is rejected and
reported while the last good one stays in force.
)";

const std::vector<OptionSpec> kStatusOptions = {
    {"--server", "-s", true, false, "HOST:PORT", "Where kthw run listens (default 127.0.0.1:9740)"},
    {"--output", "-o", true, false, "FORMAT", "table (default) or json"},
    {"--help", "-h", false, false, "", "Show this help"},
};

constexpr const char* kStatusHelp = R"(Show what a running `kthw run` reports.

Prints the desired-state revision in force, a rejected change with its
errors, each resource's Ready condition with reason and age, and each host's
reachability and drift, from the daemon's /status endpoint.

Usage:
  kthw status [--server 127.0.0.1:9740] [-o json]

Options:
)";

constexpr const char* kStatusExit = R"(
Exit status: 0 every resource Ready, 1 some resource not Ready or a change
was rejected, 2 usage error, 3 the daemon could not be reached or did not
answer with kthw's status.
)";

std::optional<std::chrono::milliseconds> parseSeconds(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !(v > 0)) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(v * 1000));
}

std::string age(const std::string& rfc3339) {
  std::tm tm{};
  if (rfc3339.empty() || strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) {
    return "-";
  }
  const auto then = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - then)
          .count();
  if (s < 120) return std::to_string(std::max<int64_t>(s, 0)) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

}  // namespace

int runRun(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed = parseCommand("run", args, kRunOptions, kRunHelp, kRunExit, io.out, io.err, code);
  if (!parsed) return code;
  if (!parsed->has("--filename") || !parsed->positional.empty()) {
    io.err << "kthw run: give the documents with -f PATH\n";
    return kExitUsage;
  }
  engine::DaemonOptions options;
  options.paths = parsed->all("--filename");
  for (const std::string& p : options.paths) {
    if (p == "-") {
      io.err << "kthw run: -f - (stdin) cannot be watched; give a file or directory\n";
      return kExitUsage;
    }
    if (::access(p.c_str(), R_OK) != 0) {
      io.err << "kthw run: cannot read " << p << "\n";
      return kExitUsage;
    }
  }
  options.listen = parsed->get("--listen", kDefaultListen);
  options.kubeconfig = parsed->get("--kubeconfig");
  const auto interval = parseSeconds(parsed->get("--interval", "180"));
  const auto base = parseSeconds(parsed->get("--backoff-base", "1"));
  const auto cap = parseSeconds(parsed->get("--backoff-max", "300"));
  const auto parallel = parseCount(parsed->get("--parallel", "32"), 4);
  if (!interval || !base || !cap || *cap < *base) {
    io.err << "kthw run: --interval, --backoff-base and --backoff-max take a positive number of "
              "seconds, and --backoff-max is at least --backoff-base\n";
    return kExitUsage;
  }
  if (!parallel || *parallel == 0) {
    io.err << "kthw run: --parallel needs a positive number\n";
    return kExitUsage;
  }
  const auto skew = parseCount(parsed->get("--max-clock-skew", "30"), 6);
  if (!skew) {
    io.err << "kthw run: --max-clock-skew needs a number of seconds\n";
    return kExitUsage;
  }
  options.maxClockSkew = std::chrono::seconds(*skew);
  options.interval = *interval;
  options.backoff = {*base, *cap, 0.2};
  options.parallelism = *parallel;
  options.repair = !parsed->has("--no-repair");
  runtime::initLogging(parsed->has("--verbose") ? runtime::Verbosity::kDebug
                                                : runtime::Verbosity::kNormal);

  // Signals are read from a descriptor in the main loop; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int sigfd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  auto watch = runtime::DirWatch::open(options.paths);
  if (sigfd < 0 || !watch.ok()) {
    io.err << "kthw run: " << (watch.ok() ? "signalfd failed" : watch.status().message()) << "\n";
    return kExitError;
  }

  engine::Daemon daemon(options);
  daemon.reload();
  if (Status s = daemon.start(); !s.ok()) {
    io.err << "kthw run: " << s.message() << "\n";
    return kExitError;
  }
  spdlog::info("kthw run: serving /healthz /readyz /metrics /status on http://{}",
               daemon.listenAddress());
  runtime::sdNotify("READY=1\nSTATUS=reconciling");

  bool changed = false;
  auto lastEvent = std::chrono::steady_clock::now();
  auto firstEvent = lastEvent;
  while (true) {
    pollfd fds[2] = {{sigfd, POLLIN, 0}, {watch->fd(), POLLIN, 0}};
    ::poll(fds, 2, changed ? 100 : 1000);
    daemon.heartbeat();
    signalfd_siginfo info{};
    if ((fds[0].revents & POLLIN) != 0 && ::read(sigfd, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGHUP) {
        spdlog::info("SIGHUP: reloading the desired state");
        daemon.reload();
      } else {
        spdlog::info("{}: stopping; no further file is written, pending restarts finish",
                     info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        runtime::sdNotify("STOPPING=1");
        break;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if ((fds[1].revents & POLLIN) != 0 && watch->drain()) {
      if (!changed) firstEvent = now;
      changed = true;
      lastEvent = now;
    }
    // Wait for the writes to settle (an editor, a git checkout), but not forever.
    if (changed && (now - lastEvent > std::chrono::milliseconds(300) ||
                    now - firstEvent > std::chrono::seconds(3))) {
      changed = false;
      daemon.reload();
    }
  }
  daemon.stop();
  ::close(sigfd);
  spdlog::info("kthw run: stopped");
  return kExitOk;
}

int runStatus(const std::vector<std::string>& args, Io io) {
  int code = kExitOk;
  auto parsed =
      parseCommand("status", args, kStatusOptions, kStatusHelp, kStatusExit, io.out, io.err, code);
  if (!parsed) return code;
  const std::string output = parsed->get("--output", "table");
  if (output != "table" && output != "json") {
    io.err << "kthw status: --output is table or json\n";
    return kExitUsage;
  }
  const std::string server = parsed->get("--server", kDefaultListen);
  auto res = runtime::httpGet(server, "/status", std::chrono::seconds(10));
  if (!res.ok() || res->status != 200) {
    io.err << "kthw status: cannot read the status of kthw run at " << server << ": "
           << (res.ok() ? "HTTP " + std::to_string(res->status) : res.status().message())
           << "\n(is `kthw run` running, and listening there? see --server)\n";
    return kExitError;
  }
  rapidjson::Document doc;
  doc.Parse(res->body.c_str(), res->body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("resources")) {
    io.err << "kthw status: " << server << " did not answer with kthw's status\n";
    return kExitError;
  }
  bool allReady = true;
  for (const auto& r : doc["resources"].GetArray()) {
    bool ready = false;
    for (const auto& c : r["conditions"].GetArray()) {
      if (std::string(c["type"].GetString()) == "Ready")
        ready = std::string(c["status"].GetString()) == "True";
    }
    allReady = allReady && ready;
  }
  const bool rejected = doc["rejected"].IsObject();
  const int exit = allReady && !rejected ? kExitOk : kExitFindings;
  if (output == "json") {
    io.out << res->body;
    return exit;
  }
  const std::string revision = doc["revision"].GetString();
  io.out << "kthw run at " << server << ": desired state "
         << (revision.empty()
                 ? "(not in git)"
                 : revision.substr(0, 12) + (revision.ends_with("-dirty") ? "-dirty" : ""))
         << ", loaded " << age(doc["loadedAt"].GetString()) << " ago; " << doc["passes"].GetUint64()
         << " host pass(es), last " << std::fixed << std::setprecision(2)
         << doc["lastPassSeconds"].GetDouble() << " s; queue " << doc["queue"]["depth"].GetUint64()
         << " queued, " << doc["queue"]["processing"].GetUint64() << " running\n";
  if (doc.HasMember("repair") && doc["repair"].IsBool() && !doc["repair"].GetBool()) {
    io.out << "REPORT-ONLY (--no-repair): drift is shown as Drifted and left in place\n";
  }
  if (rejected) {
    const auto& r = doc["rejected"];
    io.out << "REJECTED change" << (std::string(r["revision"].GetString()).empty() ? "" : " at ")
           << r["revision"].GetString() << " (" << age(r["at"].GetString())
           << " ago); the state above stays in force:\n";
    for (const auto& e : r["errors"].GetArray()) io.out << "  " << e.GetString() << "\n";
  }
  size_t width = 10;
  for (const auto& r : doc["resources"].GetArray()) {
    width = std::max<size_t>(width, r["kind"].GetStringLength() + r["name"].GetStringLength() + 3);
  }
  const int w = static_cast<int>(width);
  io.out << "\n"
         << std::left << std::setw(w) << "RESOURCE" << std::setw(8) << "READY" << std::setw(22)
         << "REASON" << std::setw(6) << "AGE"
         << "MESSAGE\n";
  for (const auto& r : doc["resources"].GetArray()) {
    std::string status = "Unknown", reason, message, since;
    for (const auto& c : r["conditions"].GetArray()) {
      if (std::string(c["type"].GetString()) != "Ready") continue;
      status = c["status"].GetString();
      reason = c["reason"].GetString();
      message = c["message"].GetString();
      since = c["lastTransitionTime"].GetString();
    }
    if (r["failures"].GetInt() > 0) {
      message += (message.empty() ? "" : "; ") + std::to_string(r["failures"].GetInt()) +
                 " failure(s), next try in " +
                 (r.HasMember("nextAttemptSeconds")
                      ? std::to_string(static_cast<int>(r["nextAttemptSeconds"].GetDouble())) + "s"
                      : std::string("-"));
    }
    if (r["terminal"].GetBool())
      message += (message.empty() ? "" : "; ") + std::string("not retried");
    if (message.size() > 100) message = message.substr(0, 97) + "...";
    io.out << std::left << std::setw(w)
           << (std::string(r["kind"].GetString()) + "/" + r["name"].GetString()) << std::setw(8)
           << status << std::setw(22) << (reason.empty() ? "-" : reason) << std::setw(6)
           << age(since) << message << "\n";
  }
  io.out << "\n"
         << std::left << std::setw(16) << "HOST" << std::setw(11) << "REACHABLE" << std::setw(7)
         << "DRIFT" << std::setw(13) << "ROUND TRIPS"
         << "OBSERVED\n";
  for (const auto& h : doc["hosts"].GetArray()) {
    std::string note;
    if (h.HasMember("error")) note = std::string("  ") + h["error"].GetString();
    if (h.HasMember("lockedBy")) note += std::string("  locked by ") + h["lockedBy"].GetString();
    io.out << std::left << std::setw(16) << h["name"].GetString() << std::setw(11)
           << (h["reachable"].GetBool() ? "yes" : "NO") << std::setw(7) << h["drift"].GetUint64()
           << std::setw(13) << h["roundTrips"].GetUint64() << age(h["observed"].GetString())
           << " ago" << note << "\n";
  }
  return exit;
}

}  // namespace kthw::cli
